package videoreplay_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision/videoreplay"
)

func TestReplayVideoFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pass.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", 20, 160, 120, true)
	if err != nil || !vw.IsOpened() {
		t.Skipf("OpenCV has no MJPG/AVI writer here: %v", err)
	}
	for i := 0; i < 30; i++ {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(i*8), 100, 200, 0), 120, 160, gocv.MatTypeCV8UC3)
		vw.Write(m)
		m.Close()
	}
	vw.Close()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	src, err := videoreplay.Open(camera.Config{Name: "front", Replay: path}, camera.ReplayOptions{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	go src.Run(context.Background())
	n := 0
	for {
		var f frame.Frame
		err := src.Next(context.Background(), &f)
		if errors.Is(err, camera.ErrEnded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != 160 || f.Height != 120 || f.Validate() != nil {
			t.Fatalf("frame %d: %dx%d", n, f.Width, f.Height)
		}
		if want := start.Add(time.Duration(n) * 50 * time.Millisecond); !f.Time.Equal(want) {
			t.Fatalf("frame %d at %v, want %v (fps from the container)", n, f.Time, want)
		}
		// Blue channel carries the frame index (JPEG-rounded).
		if b := int(f.Pix[0]); b < n*8-6 || b > n*8+6 {
			t.Errorf("frame %d: blue %d, want about %d", n, b, n*8)
		}
		n++
	}
	if n != 30 {
		t.Errorf("%d frames, want 30", n)
	}
}

func TestOpenRefusesOddFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "missing.avi"), dir} {
		if _, err := videoreplay.Open(camera.Config{Name: "front", Replay: p, Key: "cameras[2]"}, camera.ReplayOptions{}); err == nil {
			t.Errorf("Open(%s) accepted", p)
		} else if got := err.Error(); len(got) < 18 || got[:18] != "cameras[2].replay:" {
			t.Errorf("error %q does not name the key", got)
		}
	}
}

// Close while Run is decoding must wait for it: closing OpenCV's
// VideoCapture under a running Read would crash the process.
func TestCloseWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pass.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", 20, 64, 48, true)
	if err != nil || !vw.IsOpened() {
		t.Skipf("OpenCV has no MJPG/AVI writer here: %v", err)
	}
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(10, 20, 30, 0), 48, 64, gocv.MatTypeCV8UC3)
	for i := 0; i < 200; i++ {
		vw.Write(m)
	}
	m.Close()
	vw.Close()
	for i := 0; i < 20; i++ {
		src, err := videoreplay.Open(camera.Config{Name: "front", Replay: path}, camera.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- src.Run(context.Background()) }()
		var f frame.Frame
		for k := 0; k < i%5; k++ {
			if err := src.Next(context.Background(), &f); err != nil {
				t.Fatal(err)
			}
		}
		src.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
}
