package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
)

// FrameReader yields a recording's frames in order; a Player turns it
// into a Source. io.EOF from Read ends the recording; an error wrapping
// ErrCorrupt skips one frame (counted); any other error ends Run with it.
type FrameReader interface {
	Read(dst *frame.Frame) error
	Close() error
}

// ReplayOptions are a replay's collaborators.
type ReplayOptions struct {
	Clock   clock.Clock
	Log     *slog.Logger
	Decoder Decoder // for DirSource; nil means GoDecoder
	// Start is the capture time of frame 0; zero means the clock's now
	// when Run starts. Replays of one recording (cameras and sensors)
	// share it.
	Start time.Time
}

// Player replays a FrameReader: frame i is stamped Start + i×1000/fps ms;
// with Config.RealTime it is also delivered then on the clock, otherwise
// as fast as the consumer takes frames, without drops.
type Player struct {
	cfg  Config
	opt  ReplayOptions
	r    FrameReader
	ring *ring
	log  *slog.Logger

	mu   sync.Mutex
	st   stats
	once sync.Once
	stop chan struct{}
	life lifecycle
	// space is signalled when the consumer frees a slot.
	space chan struct{}
}

var _ Source = (*Player)(nil)

// NewPlayer validates cfg and wraps r.
func NewPlayer(cfg Config, opt ReplayOptions, r FrameReader, where string) (*Player, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	p := &Player{cfg: cfg, opt: opt, r: r, ring: newRing(cfg.Ring), stop: make(chan struct{}), space: make(chan struct{}, 1)}
	p.log = opt.Log.With("component", "camera", "camera", cfg.Name, "replay", where)
	p.st.h = Health{Camera: cfg.Name, Device: where, Path: where, State: StateStarting, Mode: Mode{FPS: cfg.FPS}}
	if cfg.RealTime {
		p.st.interval, p.st.stallN = cfg.Interval(), cfg.StallFrames
	}
	return p, nil
}

func (p *Player) Name() string { return p.cfg.Name }

// Health implements Source.
func (p *Player) Health() Health {
	now := p.opt.Clock.Now()
	p.mu.Lock()
	h := p.st.snapshot(now)
	p.mu.Unlock()
	h.Drops = p.ring.dropped()
	return h
}

// Next implements Source.
func (p *Player) Next(ctx context.Context, dst *frame.Frame) error {
	err := p.ring.next(ctx, dst)
	select {
	case p.space <- struct{}{}:
	default:
	}
	return err
}

// Close stops Run, waits for it to return, then closes the reader (a
// video file's decoder must not be closed under a running Read).
// Idempotent.
func (p *Player) Close() error {
	p.once.Do(func() {
		close(p.stop)
		p.ring.close()
		p.life.close()
		p.r.Close()
	})
	return nil
}

// Run implements Source: nil at the end of the recording or on cancel.
func (p *Player) Run(ctx context.Context) error {
	if !p.life.start() {
		return nil
	}
	defer p.life.done()
	defer p.ring.close()
	start := p.opt.Start
	if start.IsZero() {
		start = p.opt.Clock.Now()
	}
	var seq uint64
	end := func(state State) {
		p.mu.Lock()
		p.st.h.State = state
		p.mu.Unlock()
	}
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / p.cfg.FPS))
		if p.cfg.RealTime {
			if d := at.Sub(p.opt.Clock.Now()); d > 0 {
				t := p.opt.Clock.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					end(StateStopped)
					return nil
				case <-p.stop:
					t.Stop()
					end(StateStopped)
					return nil
				case <-t.C():
				}
			}
		} else if !p.waitSpace(ctx) {
			end(StateStopped)
			return nil
		}
		slot := p.ring.acquire()
		seq++
		err := p.r.Read(slot)
		switch {
		case errors.Is(err, io.EOF):
			p.ring.discard(slot)
			end(StateEnded)
			return nil
		case errors.Is(err, ErrCorrupt):
			p.ring.discard(slot)
			p.mu.Lock()
			p.st.h.Corrupt++
			p.st.fail(at, "", fmt.Errorf("camera %q frame %d: %w", p.cfg.Name, seq, err))
			p.mu.Unlock()
			continue
		case err != nil:
			p.ring.discard(slot)
			end(StateStopped)
			return fmt.Errorf("camera %q: replay: %w", p.cfg.Name, err)
		}
		slot.Camera, slot.Seq, slot.Time = p.cfg.Name, seq, at
		p.mu.Lock()
		p.st.h.Mode.Format, p.st.h.Mode.Width, p.st.h.Mode.Height = "", slot.Width, slot.Height
		p.st.frame(at)
		p.mu.Unlock()
		p.ring.publish(slot)
	}
}

// waitSpace blocks until the ring has a free slot, so a fast replay
// drops nothing.
func (p *Player) waitSpace(ctx context.Context) bool {
	for {
		p.ring.mu.Lock()
		free := len(p.ring.free) > 0 && p.ring.n < len(p.ring.queue)
		p.ring.mu.Unlock()
		if free {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-p.stop:
			return false
		case <-p.space:
		}
	}
}

// MaxFrameFileBytes caps one replayed frame file.
const MaxFrameFileBytes = 64 << 20

// dirReader reads a directory's JPEG/PNG files in name order.
type dirReader struct {
	dir   string
	files []string
	i     int
	dec   Decoder
	buf   []byte
}

// ListFrames returns the frame files of dir (.jpg, .jpeg, .png, any
// case) in name order; other entries are ignored.
func ListFrames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png":
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// NewDir returns a Player over the frames of cfg.Replay.
func NewDir(cfg Config, opt ReplayOptions) (*Player, error) {
	if cfg.Replay == "" {
		c := cfg.WithDefaults()
		return nil, c.errf("replay", "a replay source needs a directory")
	}
	files, err := ListFrames(cfg.Replay)
	if err != nil {
		c := cfg.WithDefaults()
		return nil, c.errf("replay", "%v", err)
	}
	if len(files) == 0 {
		c := cfg.WithDefaults()
		return nil, c.errf("replay", "no .jpg or .png frames in %s", cfg.Replay)
	}
	if opt.Decoder == nil {
		opt.Decoder = GoDecoder{}
	}
	return NewPlayer(cfg, opt, &dirReader{dir: cfg.Replay, files: files, dec: opt.Decoder}, cfg.Replay)
}

func (r *dirReader) Read(dst *frame.Frame) error {
	if r.i >= len(r.files) {
		return io.EOF
	}
	name := filepath.Join(r.dir, r.files[r.i])
	r.i++
	data, err := readFrameFile(name, r.buf)
	if err != nil {
		return err
	}
	r.buf = data
	format := JPEG
	if strings.EqualFold(filepath.Ext(name), ".png") {
		format = PNG
	}
	if err := r.dec.Decode(dst, data, format); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (r *dirReader) Close() error { return nil }

// readFrameFile reads a regular file into buf; an odd file (FIFO,
// directory, unreadable, oversized) is a corrupt frame, not a hang.
func readFrameFile(name string, buf []byte) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscallNonblock, 0)
	if err != nil {
		return buf, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if !st.Mode().IsRegular() {
		return buf, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, name)
	}
	if st.Size() > MaxFrameFileBytes {
		return buf, fmt.Errorf("%w: %s has %d bytes", ErrCorrupt, name, st.Size())
	}
	buf = grow(buf, int(st.Size()))
	if _, err := io.ReadFull(f, buf); err != nil {
		return buf, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return buf, nil
}
