package replay

import (
	"bufio"
	"errors"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"

	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/sensor"
)

// WriteScenario writes a generated scenario as laned record lays out a
// recording: one folder of JPEG frames per camera (frame-000001.jpg …) and
// sensors.csv with the loops' transitions. dir must not exist (nothing is
// written through an existing path or a symbolic link).
func WriteScenario(s *passgen.Scenario, dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("replay: %s already exists", dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("replay: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	for _, cam := range s.Cameras() {
		cd := filepath.Join(dir, cam)
		if err := os.Mkdir(cd, 0o700); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for i := range s.Frames() {
			img := passgen.ToImage(s.Render(cam, i))
			if err := writeNew(filepath.Join(cd, fmt.Sprintf("frame-%06d.jpg", i+1)), func(w *bufio.Writer) error {
				return jpeg.Encode(w, img, &jpeg.Options{Quality: 92})
			}); err != nil {
				return err
			}
		}
	}
	return writeNew(filepath.Join(dir, "sensors.csv"), func(w *bufio.Writer) error {
		cw, err := sensor.NewCSVWriter(w, s.Start())
		if err != nil {
			return err
		}
		for _, t := range s.Transitions() {
			if t.Input == "video" {
				continue // the lane's own video trigger sees the frames
			}
			if err := cw.Write(sensor.Transition{Input: t.Input, Active: t.Active, At: s.Start().Add(t.At)}); err != nil {
				return err
			}
		}
		return cw.Flush()
	})
}

// writeNew creates path (O_EXCL: never through an existing file or link).
func writeNew(path string, fill func(*bufio.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	w := bufio.NewWriter(f)
	err = fill(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	return nil
}
