package camera

import (
	"context"
	"errors"
	"time"

	"github.com/laned/laned/internal/frame"
)

// Source is a camera as the lane sees it.
type Source interface {
	// Name is the camera's configured name.
	Name() string
	// Run captures until ctx ends (nil) or the source is exhausted
	// (replay: nil after the last frame) or fails for good.
	Run(ctx context.Context) error
	// Next blocks for the oldest retained frame and moves it into dst:
	// dst's old Pix buffer is recycled into the ring, so a consumer that
	// passes the same dst back each time causes no allocation. A consumer
	// that keeps a frame passes a fresh dst. It returns ErrEnded when the
	// source has stopped and every frame was taken, ctx.Err() on cancel.
	Next(ctx context.Context, dst *frame.Frame) error
	// Health is a snapshot, safe to call at any time from any goroutine.
	Health() Health
	// Close releases the device; idempotent.
	Close() error
}

// ErrEnded is returned by Next once a stopped source has no more frames.
var ErrEnded = errors.New("camera: source ended")

// ErrCorrupt is wrapped by decoders for a frame that must be skipped.
var ErrCorrupt = errors.New("corrupt frame")

// Decoder turns one captured buffer into dst's BGR pixels, reusing
// dst.Pix when it is large enough. It sets Width, Height and Pix only.
// Errors for bad data wrap ErrCorrupt.
type Decoder interface {
	Decode(dst *frame.Frame, src []byte, format Format) error
}

// State is a camera's condition.
type State string

const (
	StateStarting  State = "starting"
	StateStreaming State = "streaming"
	StateStalled   State = "stalled"   // streaming but no frame for StallFrames intervals
	StateUnplugged State = "unplugged" // device gone or failing; reopening with back-off
	StateStopped   State = "stopped"
	StateEnded     State = "ended" // replay exhausted
)

// Health is a camera's snapshot for the health tracker and metrics.
type Health struct {
	Camera string
	Device string // configured path (by-id link) or replay directory
	Path   string // the node the link resolved to at the last open
	State  State
	Mode   Mode    // negotiated (size corrected by read-back from frames)
	FPS    float64 // measured
	// Counters since the source was made.
	Frames, Drops, Corrupt, Reopens, Stalls uint64
	LastFrame                               time.Time
	LastError                               string
	LastErrorAt                             time.Time
	Controls                                []ControlResult
}

// stats is the mutable side of Health, guarded by the source's mutex.
type stats struct {
	h        Health
	interval time.Duration
	stallN   int
	ewma     float64 // seconds per frame
}

func (s *stats) frame(t time.Time) {
	if !s.h.LastFrame.IsZero() {
		d := t.Sub(s.h.LastFrame).Seconds()
		if d > 0 {
			if s.ewma == 0 {
				s.ewma = d
			} else {
				s.ewma += (d - s.ewma) / 8
			}
		}
		if s.interval > 0 && t.Sub(s.h.LastFrame) > time.Duration(s.stallN)*s.interval {
			s.h.Stalls++
		}
	}
	s.h.Frames++
	s.h.LastFrame = t
	if s.h.State != StateStreaming {
		s.h.State = StateStreaming
	}
}

func (s *stats) fail(t time.Time, state State, err error) {
	if state != "" {
		s.h.State = state
	}
	if err != nil {
		s.h.LastError = err.Error()
		s.h.LastErrorAt = t
	}
}

// snapshot returns Health as of now: a streaming camera whose last frame
// is older than StallFrames intervals reads as stalled.
func (s *stats) snapshot(now time.Time) Health {
	h := s.h
	h.Controls = append([]ControlResult(nil), s.h.Controls...)
	if s.ewma > 0 {
		h.FPS = 1 / s.ewma
	}
	if h.State == StateStreaming && s.interval > 0 && !h.LastFrame.IsZero() &&
		now.Sub(h.LastFrame) > time.Duration(s.stallN)*s.interval {
		h.State = StateStalled
	}
	return h
}
