package camera_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/camera/cameratest"
	"github.com/laned/laned/internal/frame"
)

// Replay a recorded folder: frames in name order, frame i stamped
// i×1000/fps ms after the start.
func ExampleNewDir() {
	dir, _ := os.MkdirTemp("", "replay")
	defer os.RemoveAll(dir)
	for i := 0; i < 3; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d.jpg", i)), cameratest.JPEG(32, 24, i, false), 0o644)
	}
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	src, err := camera.NewDir(camera.Config{Name: "front", Replay: dir, FPS: 20}, camera.ReplayOptions{Start: start})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	go src.Run(context.Background())
	var f frame.Frame
	for {
		if err := src.Next(context.Background(), &f); errors.Is(err, camera.ErrEnded) {
			break
		}
		fmt.Printf("%s #%d %dx%d at +%v\n", f.Camera, f.Seq, f.Width, f.Height, f.Time.Sub(start))
	}
	// Output:
	// front #1 32x24 at +0s
	// front #2 32x24 at +50ms
	// front #3 32x24 at +100ms
}
