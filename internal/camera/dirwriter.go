package camera

import (
	"bufio"
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"github.com/laned/laned/internal/frame"
)

// DirWriter records a camera's frames into a directory the way DirSource
// replays them: lossless PNG, named 000000.png, 000001.png, … in capture
// order, so the replay gives back the same pixels.
type DirWriter struct {
	dir string
	n   int
	enc png.Encoder
}

// NewDirWriter creates dir (and parents); a directory that already holds
// frames is refused, so two recordings are never interleaved.
func NewDirWriter(dir string) (*DirWriter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("record frames: %w", err)
	}
	if files, err := ListFrames(dir); err != nil {
		return nil, fmt.Errorf("record frames: %w", err)
	} else if len(files) > 0 {
		return nil, fmt.Errorf("record frames: %s already holds %d frames", dir, len(files))
	}
	return &DirWriter{dir: dir, enc: png.Encoder{CompressionLevel: png.BestSpeed}}, nil
}

// Write stores f as the next frame; the file appears complete or not at
// all (written under a temporary name, then renamed).
func (w *DirWriter) Write(f *frame.Frame) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("record frame: %w", err)
	}
	name := filepath.Join(w.dir, fmt.Sprintf("%06d.png", w.n))
	tmp, err := os.CreateTemp(w.dir, ".frame-*")
	if err != nil {
		return fmt.Errorf("record frame: %w", err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<16)
	err = w.enc.Encode(bw, BGRImage(f))
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("record frame %s: %w", name, err)
	}
	w.n++
	return nil
}

// Frames is how many frames were written.
func (w *DirWriter) Frames() int { return w.n }
