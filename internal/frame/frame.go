package frame

import (
	"fmt"
	"time"
)

// Frame is one decoded picture from one camera. It owns Pix: a consumer may
// keep it; a producer must not write to it after handing the frame on.
type Frame struct {
	// Camera is the camera's name from config ("front", "side", …).
	Camera string
	// Seq numbers the frames a camera delivered, from 1, increasing by one
	// per frame the driver gave (so a gap downstream counts skipped frames).
	Seq uint64
	// Time is the capture time: taken when the frame was dequeued from the
	// driver, on the daemon's injected clock (replay: the simulated clock).
	// Every timestamp derived from the frame (detected_at, track times)
	// comes from here, never from processing time.
	Time time.Time
	// Width and Height in pixels.
	Width, Height int
	// Pix is 8-bit BGR, 3 bytes a pixel, row-major, stride 3*Width.
	Pix []byte
}

// Validate reports a frame whose sizes and buffer disagree; consumers that
// hand Pix to cgo call it first.
func (f *Frame) Validate() error {
	switch {
	case f.Width <= 0 || f.Height <= 0:
		return fmt.Errorf("frame %s#%d: size %dx%d", f.Camera, f.Seq, f.Width, f.Height)
	case f.Width > 1<<14 || f.Height > 1<<14:
		return fmt.Errorf("frame %s#%d: size %dx%d exceeds 16384", f.Camera, f.Seq, f.Width, f.Height)
	case len(f.Pix) != 3*f.Width*f.Height:
		return fmt.Errorf("frame %s#%d: %d bytes of pixels for %dx%d BGR, want %d",
			f.Camera, f.Seq, len(f.Pix), f.Width, f.Height, 3*f.Width*f.Height)
	}
	return nil
}
