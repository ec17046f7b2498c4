package mjpeg_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/camera/cameratest"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/vision/mjpeg"
)

// TestUnplugCyclesLeakNothing unplugs and replugs a fake MJPEG camera
// 1,000 times while the OpenCV decoder decodes its frames: goroutines
// return to their count, every device handle is closed, no buffer is
// unmapped while held, and resident memory stays flat (the decoder's
// cv::Mat headers live on the C++ stack; nothing is allocated per frame
// once the ring's buffers exist).
func TestUnplugCyclesLeakNothing(t *testing.T) {
	cycles := 1000
	if n, err := strconv.Atoi(os.Getenv("LANED_UNPLUG_CYCLES")); err == nil && n > 50 {
		cycles = n // LANED_UNPLUG_CYCLES=5000 shows whether RSS growth scales with cycles
	}
	if testing.Short() {
		cycles = 200
	}
	const link = "/dev/v4l/by-id/usb-Acme-video-index0"
	jpg := cameratest.JPEG(320, 240, 1, false)
	var rssWarm, rssEnd int64
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		bus := cameratest.NewBus(clock.Real{})
		dev := &cameratest.Device{Name: "cam", Modes: []cameratest.Mode{{Format: camera.MJPEG, Width: 320, Height: 240, FPS: 30}},
			Payload: func(uint64, cameratest.Mode) []byte { return jpg }}
		bus.Plug(link, "/dev/video0", dev)
		src, err := camera.NewV4L2(camera.Config{Name: "front", Device: link, Width: 320, Height: 240, FPS: 30},
			camera.V4L2Options{Decoder: &mjpeg.Decoder{}, Open: bus.Open, Resolve: bus.Resolve})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()
		var f frame.Frame
		for i := 0; i < cycles; i++ {
			t0 := time.Now()
			for {
				if err := src.Next(ctx, &f); err != nil {
					t.Fatal(err)
				}
				if f.Time.After(t0) {
					break
				}
			}
			if i == 50 {
				runtime.GC()
				rssWarm = lanedtest.RSS(t)
			}
			bus.Unplug(link)
			synctest.Wait()
			bus.Plug(link, "/dev/video0", dev)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		src.Close()
		synctest.Wait()
		runtime.GC()
		rssEnd = lanedtest.RSS(t)
		if h := src.Health(); h.Reopens != uint64(cycles-1) || h.Corrupt != 0 {
			t.Errorf("health %+v", h)
		}
		if n := bus.Live(); n != 0 {
			t.Errorf("%d handles open", n)
		}
		if v := bus.Violations(); len(v) != 0 {
			t.Errorf("violations: %v", v)
		}
		if after := runtime.NumGoroutine(); after != before {
			t.Errorf("goroutines %d → %d", before, after)
		}
	})
	grow := rssEnd - rssWarm
	t.Logf("%d cycles: RSS %d KB after warm-up, %d KB at end (%+d KB)", cycles, rssWarm>>10, rssEnd>>10, grow>>10)
	if grow > 16<<20 {
		t.Errorf("RSS grew %d KB over %d unplug cycles", grow>>10, cycles)
	}
}
