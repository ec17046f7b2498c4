package camera

import (
	"bufio"
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision/jpegcheck"
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
func (w *DirWriter) Write(fr *frame.Frame) error {
	if err := fr.Validate(); err != nil {
		return fmt.Errorf("record frame: %w", err)
	}
	return w.write(fmt.Sprintf("%06d.png", w.n), func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<16)
		if err := w.enc.Encode(bw, BGRImage(fr)); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// Frames is how many frames were written.
func (w *DirWriter) Frames() int { return w.n }

// WriteJPEG stores a camera's own JPEG/MJPEG bytes as the next frame
// (000007.jpg), with the standard Huffman tables inserted when the
// camera left them out, so any viewer opens it and the replay decodes
// exactly what the live decoder did.
func (w *DirWriter) WriteJPEG(data []byte) error {
	out, _, _, err := jpegcheck.Prepare(data, nil)
	if err != nil {
		return fmt.Errorf("record frame: %w", err)
	}
	return w.write(fmt.Sprintf("%06d.jpg", w.n), func(f *os.File) error {
		_, err := f.Write(out)
		return err
	})
}

// write creates name atomically through a temporary file.
func (w *DirWriter) write(name string, fill func(*os.File) error) error {
	path := filepath.Join(w.dir, name)
	tmp, err := os.CreateTemp(w.dir, ".frame-*")
	if err != nil {
		return fmt.Errorf("record frame: %w", err)
	}
	err = fill(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("record frame %s: %w", path, err)
	}
	w.n++
	return nil
}
