//go:build matprofile

package videoreplay_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision/videoreplay"
)

// TestNoMatLeak (go test -tags matprofile): 200 replays of a video file,
// each read to the end or closed early, leave no gocv.Mat alive.
func TestNoMatLeak(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pass.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", 20, 64, 48, true)
	if err != nil || !vw.IsOpened() {
		t.Skipf("OpenCV has no MJPG/AVI writer here: %v", err)
	}
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(10, 20, 30, 0), 48, 64, gocv.MatTypeCV8UC3)
	for i := 0; i < 20; i++ {
		vw.Write(m)
	}
	m.Close()
	vw.Close()
	before := gocv.MatProfile.Count()
	for i := 0; i < 200; i++ {
		src, err := videoreplay.Open(camera.Config{Name: "front", Replay: path}, camera.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- src.Run(context.Background()) }()
		var f frame.Frame
		for k := 0; i%2 == 0 || k < 3; k++ {
			if err := src.Next(context.Background(), &f); errors.Is(err, camera.ErrEnded) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		src.Close()
		<-done
	}
	if after := gocv.MatProfile.Count(); after != before {
		t.Errorf("%d Mats alive after 200 replays (was %d)", after, before)
	}
}
