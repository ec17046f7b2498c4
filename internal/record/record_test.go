package record_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gopkg.in/yaml.v3"
	"periph.io/x/conn/v3/gpio"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/camera/cameratest"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/record"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/sensor/sensortest"
)

// TestRecordThenReplayIsIdentical records a pass from two fake cameras
// (MJPEG kept as sent, YUYV as PNG) and two fake loops, replays the
// folder, and compares every frame's pixels (SHA-256) and every
// transition with what the live sources delivered.
func TestRecordThenReplayIsIdentical(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pass")
	var (
		mu       sync.Mutex
		live     = map[string][][32]byte{}
		liveTrs  []sensor.Transition
		startRec time.Time
	)
	synctest.Test(t, func(t *testing.T) {
		bus := cameratest.NewBus(clock.Real{})
		front := &cameratest.Device{Name: "front", Modes: []cameratest.Mode{{Format: camera.MJPEG, Width: 160, Height: 120, FPS: 15}}}
		side := &cameratest.Device{Name: "side", Modes: []cameratest.Mode{{Format: camera.YUYV, Width: 64, Height: 48, FPS: 10}}}
		bus.Plug("/dev/v4l/by-id/front", "/dev/video0", front)
		bus.Plug("/dev/v4l/by-id/side", "/dev/video2", side)
		startRec = time.Now()
		rec, err := record.New(out, []string{"front", "side"}, startRec)
		if err != nil {
			t.Fatal(err)
		}
		var cams []record.Camera
		for _, c := range []camera.Config{
			{Name: "front", Device: "/dev/v4l/by-id/front", Width: 160, Height: 120, FPS: 15},
			{Name: "side", Device: "/dev/v4l/by-id/side", Width: 64, Height: 48, FPS: 10},
		} {
			src, err := camera.NewV4L2(c, camera.V4L2Options{Decoder: camera.GoDecoder{}, Open: bus.Open, Resolve: bus.Resolve,
				OnRaw: func(f *frame.Frame, raw []byte, format camera.Format) {
					if err := rec.RawFrame(f, raw, format); err != nil {
						t.Error(err)
					}
					mu.Lock()
					live[f.Camera] = append(live[f.Camera], sha256.Sum256(f.Pix))
					mu.Unlock()
				}})
			if err != nil {
				t.Fatal(err)
			}
			cams = append(cams, record.Camera{Source: src, Raw: true})
		}
		board := sensortest.NewBoard(map[string]int{"gpiochip0": 32})
		bank, err := sensor.NewBank(sensor.Config{Inputs: []sensor.InputConfig{
			{Name: "arrival", Role: sensor.RoleArrival, Chip: "gpiochip0", Line: 4},
			{Name: "departure", Role: sensor.RoleDeparture, Chip: "gpiochip0", Line: 5},
		}}, board, sensor.Options{OnTransition: func(tr sensor.Transition) {
			rec.Transition(tr)
			mu.Lock()
			liveTrs = append(liveTrs, tr)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		go func() { // a car drives over both loops
			for _, s := range []struct {
				after time.Duration
				line  int
				l     gpio.Level
			}{{700 * time.Millisecond, 4, gpio.High}, {600 * time.Millisecond, 5, gpio.High}, {500 * time.Millisecond, 4, gpio.Low}, {400 * time.Millisecond, 5, gpio.Low}} {
				time.Sleep(s.after)
				board.Bounce("gpiochip0", s.line, 5, time.Millisecond, s.l, time.Sleep)
			}
		}()
		sum, err := record.Run(context.Background(), rec, cams, []record.Runner{bank}, 3*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		bank.Close()
		// 3 s at 15 and 10 fps (±1: the last interval ends on the deadline).
		if f := sum.Frames["front"]; f < 44 || f > 46 || sum.Frames["side"] < 29 || sum.Frames["side"] > 31 || sum.Transitions != 4 {
			t.Errorf("summary %+v, want 45 and 30 frames, 4 transitions", sum)
		}
	})

	// Replay: same pixels, same transitions (to the millisecond).
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for name, fps := range map[string]float64{"front": 15, "side": 10} {
		src, err := camera.NewDir(camera.Config{Name: name, Replay: filepath.Join(out, name), FPS: fps}, camera.ReplayOptions{Start: start})
		if err != nil {
			t.Fatal(err)
		}
		go src.Run(context.Background())
		var got [][32]byte
		var f frame.Frame
		for {
			if err := src.Next(context.Background(), &f); errors.Is(err, camera.ErrEnded) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			got = append(got, sha256.Sum256(f.Pix))
		}
		if len(got) != len(live[name]) {
			t.Fatalf("%s: replayed %d frames, recorded %d", name, len(got), len(live[name]))
		}
		for i := range got {
			if got[i] != live[name][i] {
				t.Fatalf("%s frame %d: checksum differs", name, i)
			}
		}
		t.Logf("%s: %d frames, all SHA-256 equal", name, len(got))
	}
	csv, err := os.Open(filepath.Join(out, "sensors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer csv.Close()
	replayed, err := sensor.ParseCSV(csv, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(replayed) != len(liveTrs) || len(replayed) != 4 {
		t.Fatalf("replayed %v, live %v", replayed, liveTrs)
	}
	for i, r := range replayed {
		l := liveTrs[i]
		if r.Input != l.Input || r.Active != l.Active || r.At.Sub(start) != l.At.Sub(startRec).Truncate(time.Millisecond) {
			t.Errorf("transition %d: replayed %v (+%v), live %v (+%v)", i, r, r.At.Sub(start), l, l.At.Sub(startRec))
		}
	}
	// replay.yaml replays the recording at the captured rates.
	var rc struct {
		Cameras []camera.Config `yaml:"cameras"`
	}
	data, err := os.ReadFile(filepath.Join(out, record.ReplayConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &rc); err != nil {
		t.Fatal(err)
	}
	if cs, err := camera.ValidateAll(rc.Cameras); err != nil || len(cs) != 2 || cs[0].FPS != 15 || cs[0].Replay != filepath.Join(out, "front") {
		t.Errorf("replay.yaml %+v: %v\n%s", rc.Cameras, err, data)
	}
	// frames.csv lists every frame with its capture time.
	idx, _ := os.ReadFile(filepath.Join(out, "front", "frames.csv"))
	if lines := strings.Count(string(idx), "\n"); lines != len(live["front"])+1 {
		t.Errorf("front/frames.csv has %d lines, want %d", lines, len(live["front"])+1)
	}
}

func TestNewRefusesNonEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := record.New(dir, []string{"front"}, time.Now()); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("New into a used folder: %v", err)
	}
	if _, err := record.New(filepath.Join(t.TempDir(), "a"), []string{"../x"}, time.Now()); err == nil {
		t.Error("camera name with a path accepted")
	}
}
