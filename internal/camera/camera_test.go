package camera_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/camera/cameratest"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
)

const link = "/dev/v4l/by-id/usb-Acme_Cam_1234-video-index0"

func cfg(mod func(*camera.Config)) camera.Config {
	c := camera.Config{Name: "front", Device: link, Width: 1280, Height: 720, FPS: 30}
	if mod != nil {
		mod(&c)
	}
	return c.WithDefaults()
}

func TestChooseFormat(t *testing.T) {
	yuyvOnly := &cameratest.Device{Name: "old", Modes: []cameratest.Mode{{Format: camera.YUYV, Width: 640, Height: 480, FPS: 30}, {Format: camera.YUYV, Width: 320, Height: 240, FPS: 30}}}
	tests := []struct {
		name    string
		dev     *cameratest.Device
		c       camera.Config
		want    camera.Mode
		wantErr string
	}{
		{"mjpeg preferred", cameratest.Webcam("c"), cfg(nil), camera.Mode{Format: camera.MJPEG, Width: 1280, Height: 720, FPS: 30}, ""},
		{"mjpeg preferred at vga too", cameratest.Webcam("c"), cfg(func(c *camera.Config) { c.Width, c.Height = 640, 480 }), camera.Mode{Format: camera.MJPEG, Width: 640, Height: 480, FPS: 30}, ""},
		{"yuyv asked", cameratest.Webcam("c"), cfg(func(c *camera.Config) { c.Width, c.Height, c.Format = 640, 480, "yuyv" }), camera.Mode{Format: camera.YUYV, Width: 640, Height: 480, FPS: 30}, ""},
		{"yuyv fallback", yuyvOnly, cfg(func(c *camera.Config) { c.Width, c.Height = 640, 480 }), camera.Mode{Format: camera.YUYV, Width: 640, Height: 480, FPS: 30}, ""},
		{"size missing", yuyvOnly, cfg(nil), camera.Mode{}, `cameras[1].width: camera "front" (` + link + `) offers YUYV 640x480@30, YUYV 320x240@30; not YUYV 1280x720`},
		{"yuyv lacks hd", cameratest.Webcam("c"), cfg(func(c *camera.Config) { c.Format = "YUYV" }), camera.Mode{}, "offers MJPEG 1920x1080@30, MJPEG 1280x720@30, MJPEG 640x480@30, YUYV 640x480@30; not YUYV 1280x720"},
		{"format the camera lacks", &cameratest.Device{Name: "mj", Modes: []cameratest.Mode{{Format: camera.MJPEG, Width: 1280, Height: 720, FPS: 30}}},
			cfg(func(c *camera.Config) { c.Format = "YUYV" }), camera.Mode{}, `cameras[1].format: camera "front" (` + link + `) offers MJPEG 1280x720@30; not YUYV`},
		{"rate missing", cameratest.Webcam("c"), cfg(func(c *camera.Config) { c.FPS = 60 }), camera.Mode{}, "cameras[1].fps: " + `camera "front" (` + link + `) offers MJPEG 1920x1080@30`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := cameratest.NewBus(clock.Real{})
			bus.Plug(link, "/dev/video0", tt.dev)
			d, err := bus.Open("/dev/video0")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			tt.c.Key = "cameras[1]"
			got, err := camera.Choose(d, tt.c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Choose = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestApplyControlsReadBack(t *testing.T) {
	dev := cameratest.Webcam("c")
	gain, _ := camera.ControlID("gain")
	dev.Controls[gain].Refuse = true
	bus := cameratest.NewBus(clock.Real{})
	bus.Plug(link, "/dev/video0", dev)
	d, _ := bus.Open("/dev/video0")
	defer d.Close()
	got := camera.ApplyControls(d, map[string]int32{
		"auto_exposure":             1,
		"exposure_time_absolute":    5000, // above 2047
		"white_balance_automatic":   0,
		"white_balance_temperature": 4505, // step 10
		"gain":                      64,   // refused
		"zoom_absolute":             100,  // not offered
		"power_line_frequency":      1,
	})
	want := []struct {
		name   string
		status camera.ControlStatus
		got    int32
	}{
		{"power_line_frequency", camera.ControlApplied, 1},
		{"auto_exposure", camera.ControlApplied, 1},
		{"exposure_time_absolute", camera.ControlClamped, 2047},
		{"gain", camera.ControlRefused, 0},
		{"white_balance_automatic", camera.ControlApplied, 0},
		{"white_balance_temperature", camera.ControlClamped, 4500},
		{"zoom_absolute", camera.ControlNotOffered, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results: %v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Status != w.status || g.Got != w.got {
			t.Errorf("result %d = %s (%s got %d), want %s %s %d", i, g, g.Status, g.Got, w.name, w.status, w.got)
		}
	}
	if s := got[2].String(); s != "exposure_time_absolute=5000 clamped to 2047 (range 3..2047)" {
		t.Errorf("String = %q", s)
	}
}

func TestYUYVToBGRKnownValues(t *testing.T) {
	tests := []struct {
		name        string
		y, u, v     byte
		wantB, G, R byte
	}{
		{"black", 16, 128, 128, 0, 0, 0},
		{"white", 235, 128, 128, 255, 255, 255},
		{"mid grey", 126, 128, 128, 128, 128, 128},
		{"red", 81, 90, 240, 0, 0, 255},
		{"green", 145, 54, 34, 0, 255, 0},
		{"blue", 41, 240, 110, 255, 0, 0},
		{"below black clips", 0, 128, 128, 0, 0, 0},
		{"above white clips", 255, 128, 128, 255, 255, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte{tt.y, tt.u, tt.y, tt.v}
			dst := make([]byte, 6)
			if err := camera.YUYVToBGR(dst, src, 2, 1, 4); err != nil {
				t.Fatal(err)
			}
			for p := 0; p < 2; p++ {
				b, g, r := dst[3*p], dst[3*p+1], dst[3*p+2]
				if absd(b, tt.wantB) > 1 || absd(g, tt.G) > 1 || absd(r, tt.R) > 1 {
					t.Errorf("pixel %d = BGR(%d,%d,%d), want (%d,%d,%d)", p, b, g, r, tt.wantB, tt.G, tt.R)
				}
			}
		})
	}
	if err := camera.YUYVToBGR(make([]byte, 12), []byte{1, 2, 3}, 2, 2, 4); !errors.Is(err, camera.ErrCorrupt) {
		t.Errorf("short YUYV: err = %v, want ErrCorrupt", err)
	}
}

func absd(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// rig runs a V4L2 source on a fake bus inside a synctest bubble.
type rig struct {
	bus    *cameratest.Bus
	dev    *cameratest.Device
	src    *camera.V4L2Source
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	frames []frame.Frame // metadata only
	got    chan struct{}
}

func startRig(t *testing.T, dev *cameratest.Device, c camera.Config) *rig {
	t.Helper()
	r := &rig{bus: cameratest.NewBus(clock.Real{}), dev: dev, done: make(chan error, 1), got: make(chan struct{}, 1)}
	r.bus.Plug(link, "/dev/video0", dev)
	src, err := camera.NewV4L2(c, camera.V4L2Options{Decoder: camera.GoDecoder{}, Open: r.bus.Open, Resolve: r.bus.Resolve})
	if err != nil {
		t.Fatal(err)
	}
	r.src = src
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- src.Run(ctx) }()
	go func() {
		var f frame.Frame
		for {
			if err := src.Next(ctx, &f); err != nil {
				return
			}
			r.mu.Lock()
			r.frames = append(r.frames, frame.Frame{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Width: f.Width, Height: f.Height})
			r.mu.Unlock()
			select {
			case r.got <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

func (r *rig) stop(t *testing.T) {
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run = %v, want nil on cancel", err)
	}
	r.src.Close()
	r.src.Close() // idempotent
	synctest.Wait()
	if n := r.bus.Live(); n != 0 {
		t.Errorf("%d device handles left open", n)
	}
	if v := r.bus.Violations(); len(v) > 0 {
		t.Errorf("driver misuse: %v", v)
	}
}

func (r *rig) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// waitFrameAfter blocks until a frame captured after t0 arrives and
// returns its time.
func (r *rig) waitFrameAfter(t0 time.Time) time.Time {
	for {
		r.mu.Lock()
		if n := len(r.frames); n > 0 && r.frames[n-1].Time.After(t0) {
			ft := r.frames[n-1].Time
			r.mu.Unlock()
			return ft
		}
		r.mu.Unlock()
		<-r.got
	}
}

func small(format camera.Format) *cameratest.Device {
	return &cameratest.Device{Name: "cam", Modes: []cameratest.Mode{{Format: format, Width: 64, Height: 48, FPS: 30}}, Controls: cameratest.DefaultControls()}
}

func smallCfg(f string) camera.Config {
	return cfg(func(c *camera.Config) { c.Width, c.Height, c.Format = 64, 48, f })
}

func TestStreamDeliversOwnedTimestampedFrames(t *testing.T) {
	for _, f := range []string{"MJPEG", "YUYV"} {
		t.Run(f, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startRig(t, small(camera.Format(f)), smallCfg(f))
				start := time.Now()
				time.Sleep(time.Second + time.Millisecond)
				synctest.Wait()
				n := r.count()
				if n < 29 || n > 31 {
					t.Errorf("%d frames in 1 s at 30 fps", n)
				}
				r.mu.Lock()
				for i, fr := range r.frames {
					if fr.Seq != uint64(i+1) || fr.Camera != "front" || fr.Width != 64 || fr.Height != 48 {
						t.Fatalf("frame %d = %+v", i, fr)
					}
					// Capture time is the dequeue time: frame i at (i+1)/30 s.
					want := start.Add(time.Duration(i+1) * time.Second / 30)
					if d := fr.Time.Sub(want); d < -time.Millisecond || d > time.Millisecond {
						t.Fatalf("frame %d at %v, want %v", i, fr.Time.Sub(start), want.Sub(start))
					}
				}
				r.mu.Unlock()
				h := r.src.Health()
				if h.State != camera.StateStreaming || h.Mode.Format != camera.Format(f) || h.FPS < 29 || h.FPS > 31 || h.Path != "/dev/video0" {
					t.Errorf("health = %+v", h)
				}
				r.stop(t)
			})
		})
	}
}

func TestSizeReadBackFromFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := small(camera.MJPEG)
		dev.DriverSize = func(w, h int) (int, int) { return 32, 24 } // driver ignores the request
		r := startRig(t, dev, smallCfg("MJPEG"))
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if h := r.src.Health(); h.Mode.Width != 32 || h.Mode.Height != 24 {
			t.Errorf("mode after read-back = %v, want 32x24", h.Mode)
		}
		r.stop(t)
	})
}

func TestCorruptMJPEGRefusedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := small(camera.MJPEG)
		dev.Payload = func(seq uint64, m cameratest.Mode) []byte {
			p := cameratest.Pattern(seq, m)
			switch seq % 10 {
			case 3:
				return p[:len(p)/2] // truncated
			case 7:
				p[2], p[3] = 0x00, 0x00 // broken marker
			}
			return p
		}
		r := startRig(t, dev, smallCfg("MJPEG"))
		time.Sleep(time.Second + time.Millisecond) // 30 frames
		synctest.Wait()
		h := r.src.Health()
		if h.Corrupt != 6 || h.Frames != 24 || r.count() != 24 {
			t.Errorf("corrupt %d, frames %d, delivered %d; want 6, 24, 24", h.Corrupt, h.Frames, r.count())
		}
		if !strings.Contains(h.LastError, "corrupt") {
			t.Errorf("last error %q", h.LastError)
		}
		// Seq counts what the driver gave, so the skips show as gaps.
		r.mu.Lock()
		if last := r.frames[len(r.frames)-1].Seq; last != 30 {
			t.Errorf("last seq %d, want 30", last)
		}
		r.mu.Unlock()
		r.stop(t)
	})
}

func TestUnplugFaultAndReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := small(camera.YUYV)
		r := startRig(t, dev, smallCfg("YUYV"))
		interval := time.Second / 30
		time.Sleep(500 * time.Millisecond)
		t0 := time.Now()
		r.bus.Unplug(link)
		var fault time.Duration
		for r.src.Health().State != camera.StateUnplugged {
			time.Sleep(time.Millisecond)
		}
		fault = time.Since(t0)
		if fault > 2*interval {
			t.Errorf("unplug reported after %v, want within 2 frame intervals (%v)", fault, 2*interval)
		}
		time.Sleep(3 * time.Second)
		// It comes back as another node behind the same by-id link.
		t1 := time.Now()
		r.bus.Plug(link, "/dev/video2", dev)
		ft := r.waitFrameAfter(t1)
		if back := ft.Sub(t1); back > time.Second {
			t.Errorf("frames again %v after the device returned, want within 1 s", back)
		} else {
			t.Logf("fault after %v (interval %v); frames again %v after return", fault, interval, back)
		}
		h := r.src.Health()
		if h.Reopens != 1 || h.Path != "/dev/video2" || h.State != camera.StateStreaming {
			t.Errorf("health after return = %+v", h)
		}
		r.stop(t)
	})
}

func TestStallDetected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := small(camera.YUYV)
		c := smallCfg("YUYV")
		r := startRig(t, dev, c)
		time.Sleep(300 * time.Millisecond)
		dev.Stall(true)
		time.Sleep(150 * time.Millisecond) // > 3 intervals
		if h := r.src.Health(); h.State != camera.StateStalled {
			t.Errorf("state %s after 150 ms without frames, want stalled", h.State)
		}
		time.Sleep(c.ReopenAfter + 2*time.Second)
		dev.Stall(false)
		time.Sleep(time.Second)
		h := r.src.Health()
		if h.Reopens < 1 || h.State != camera.StateStreaming || h.Stalls < 1 {
			t.Errorf("after a long stall: %+v", h)
		}
		r.stop(t)
	})
}

func TestThousandUnplugCyclesLeakNothing(t *testing.T) {
	cycles := 1000
	if testing.Short() {
		cycles = 200
	}
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		dev := small(camera.YUYV)
		r := startRig(t, dev, smallCfg("YUYV"))
		for i := 0; i < cycles; i++ {
			t0 := time.Now()
			r.waitFrameAfter(t0)
			r.bus.Unplug(link)
			synctest.Wait()
			if s := r.src.Health().State; s != camera.StateUnplugged {
				t.Fatalf("cycle %d: state %s after unplug", i, s)
			}
			r.bus.Plug(link, "/dev/video0", dev)
		}
		r.waitFrameAfter(time.Now())
		synctest.Wait()
		if live := r.bus.Live(); live > 1 {
			t.Errorf("%d handles open while streaming, want 1", live)
		}
		h := r.src.Health()
		if h.Reopens != uint64(cycles) {
			t.Errorf("reopens %d, want %d", h.Reopens, cycles)
		}
		r.stop(t)
		if after := runtime.NumGoroutine(); after != before {
			t.Errorf("goroutines %d before, %d after %d cycles", before, after, cycles)
		}
		if n := r.bus.Opens(); n != cycles+1 {
			t.Errorf("opens %d, want %d", n, cycles+1)
		}
	})
}

func TestSlowConsumerDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := cameratest.NewBus(clock.Real{})
		bus.Plug(link, "/dev/video0", small(camera.YUYV))
		c := smallCfg("YUYV")
		c.Ring = 2
		src, err := camera.NewV4L2(c, camera.V4L2Options{Decoder: camera.GoDecoder{}, Open: bus.Open, Resolve: bus.Resolve})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- src.Run(ctx) }()
		time.Sleep(time.Second + time.Millisecond) // 30 frames, nobody reading
		var f frame.Frame
		var seqs []uint64
		for i := 0; i < 3; i++ {
			if err := src.Next(ctx, &f); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, f.Seq)
		}
		// Ring 2: the newest two of 30 survive, the third Next waits
		// for frame 31.
		if seqs[0] != 29 || seqs[1] != 30 || seqs[2] != 31 {
			t.Errorf("kept %v, want 29 30 31", seqs)
		}
		if d := src.Health().Drops; d != 28 {
			t.Errorf("drops %d, want 28", d)
		}
		cancel()
		<-done
		src.Close()
	})
}
