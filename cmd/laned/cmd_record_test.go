package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision/mjpeg"
)

func replaySums(t *testing.T, dir string) [][32]byte {
	t.Helper()
	src, err := camera.NewDir(camera.Config{Name: "front", Replay: dir, FPS: 10}, camera.ReplayOptions{Decoder: &mjpeg.Decoder{}})
	if err != nil {
		t.Fatal(err)
	}
	go src.Run(context.Background())
	var out [][32]byte
	var f frame.Frame
	for {
		if err := src.Next(context.Background(), &f); errors.Is(err, camera.ErrEnded) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, sha256.Sum256(f.Pix))
	}
}

// TestRecordCommandFromReplay records a replayed camera with the real
// command and checks the recording replays to the same pixels.
func TestRecordCommandFromReplay(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	os.Mkdir(in, 0o755)
	for i := 0; i < 8; i++ {
		img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
		for p := 0; p < 40*30; p++ {
			img.Set(p%40, p/40, color.NRGBA{uint8(p * i), uint8(p), uint8(i * 30), 255})
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		os.WriteFile(filepath.Join(in, fmt.Sprintf("f%03d.png", i)), buf.Bytes(), 0o644)
	}
	cfg := filepath.Join(tmp, "laned.yaml")
	os.WriteFile(cfg, []byte("cameras:\n  - name: front\n    replay: "+in+"\n    fps: 10\n"), 0o644)
	out := filepath.Join(tmp, "pass")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"record", "--config", cfg, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "front 8 frames, 0 sensor transitions") {
		t.Errorf("stdout %q", stdout.String())
	}
	want, got := replaySums(t, in), replaySums(t, filepath.Join(out, "front"))
	if len(got) != 8 || len(want) != 8 {
		t.Fatalf("%d frames recorded, %d in", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("frame %d differs after record and replay", i)
		}
	}
	if data, err := os.ReadFile(filepath.Join(out, "sensors.csv")); err != nil || string(data) != "t_ms,input,level\n" {
		t.Errorf("sensors.csv %q, %v", data, err)
	}
	// A second run into the same folder is refused.
	if code := run(context.Background(), []string{"record", "--config", cfg, "--out", out}, &stdout, &stderr); code != 1 {
		t.Errorf("recording into a used folder: exit %d", code)
	}
}

func TestRecordCommandBadConfig(t *testing.T) {
	tmp := t.TempDir()
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "cameras:\n  - name: front\n    device: /dev/video0\n    fsp: 30\n", "field fsp not found"},
		{"format", "cameras:\n  - name: front\n    device: /dev/v4l/by-id/usb-cam\n    format: H264\n", `cameras[0].format: camera "front" (/dev/v4l/by-id/usb-cam) unknown pixel format "H264"`},
		{"duplicate inputs", "sensors:\n  inputs:\n    - {name: loop, chip: gpiochip0, line: 3}\n    - {name: loop, chip: gpiochip0, line: 4}\n",
			`sensors.inputs[1].name: "loop" (gpiochip0 line 4) duplicate name`},
		{"line out of range", "sensors:\n  inputs:\n    - {name: loop, chip: gpiochip0, line: 4000}\n", `sensors.inputs[0].line: "loop" (gpiochip0 line 4000) line 4000 out of range`},
		{"unknown profile", "cameras:\n  - name: front\n    device: /dev/video0\n    profile: nosuch\n", "cameras[0].profile: camera profile: open"},
		{"no gpio here", "sensors:\n  inputs:\n    - {name: arrival, role: arrival, chip: gpiochip0, line: 17}\n", `sensors.inputs[0].chip: "arrival" (gpiochip0 line 17) no such GPIO chip`},
		{"empty", "{}\n", "nothing to record"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(tmp, fmt.Sprintf("c%d.yaml", i))
			os.WriteFile(cfg, []byte(tt.yaml), 0o644)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"record", "--config", cfg, "--out", filepath.Join(tmp, fmt.Sprintf("o%d", i)),
				"--firmware", "../../firmware-config"}, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				if tt.name == "no gpio here" && code == 0 {
					t.Skip("this machine has GPIO")
				}
				t.Errorf("exit %d, stderr:\n%s\nwant containing %s", code, stderr.String(), tt.want)
			}
		})
	}
}
