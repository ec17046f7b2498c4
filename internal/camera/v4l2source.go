package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/blackjack/webcam"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
)

// V4L2Options are a V4L2 source's collaborators.
type V4L2Options struct {
	Clock   clock.Clock
	Log     *slog.Logger
	Decoder Decoder
	// Open opens a device node; nil means OpenWebcam.
	Open Opener
	// Resolve turns the configured path (a /dev/v4l/by-id link) into the
	// node to open; nil means filepath.EvalSymlinks. It runs on every
	// (re)open, so a camera that comes back as another /dev/videoN is
	// found again.
	Resolve func(string) (string, error)
	// Buffers is the driver queue depth (default 4).
	Buffers uint32
	// OnRaw, when set, is called from the capture loop after each frame
	// decoded, with the decoded frame and the bytes the driver gave
	// (valid only during the call): laned record keeps a camera's own
	// MJPEG instead of re-encoding. It must be quick.
	OnRaw func(f *frame.Frame, raw []byte, format Format)
}

// V4L2Source captures one V4L2 camera: open, negotiate, apply controls,
// stream; on unplug or a long stall it closes the device, backs off and
// reopens it, counting each reopen.
type V4L2Source struct {
	cfg  Config
	opt  V4L2Options
	log  *slog.Logger
	ring *ring

	mu   sync.Mutex
	st   stats
	seq  uint64
	stop chan struct{}
	once sync.Once
	life lifecycle

	scratch []byte // raw copy of the driver buffer
}

var _ Source = (*V4L2Source)(nil)

// NewV4L2 validates cfg (defaults filled) and returns a source that opens
// the device when Run starts.
func NewV4L2(cfg Config, opt V4L2Options) (*V4L2Source, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Device == "" {
		return nil, cfg.errf("device", "a V4L2 source needs a device")
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Decoder == nil {
		return nil, fmt.Errorf("camera %q: no decoder", cfg.Name)
	}
	if opt.Open == nil {
		opt.Open = OpenWebcam
	}
	if opt.Resolve == nil {
		opt.Resolve = filepath.EvalSymlinks
	}
	if opt.Buffers == 0 {
		opt.Buffers = 4
	}
	s := &V4L2Source{
		cfg:  cfg,
		opt:  opt,
		log:  opt.Log.With("component", "camera", "camera", cfg.Name),
		ring: newRing(cfg.Ring),
		stop: make(chan struct{}),
	}
	s.st.h = Health{Camera: cfg.Name, Device: cfg.Device, State: StateStarting}
	s.st.interval = cfg.Interval()
	s.st.stallN = cfg.StallFrames
	return s, nil
}

func (s *V4L2Source) Name() string { return s.cfg.Name }

// Health implements Source.
func (s *V4L2Source) Health() Health {
	now := s.opt.Clock.Now()
	s.mu.Lock()
	h := s.st.snapshot(now)
	s.mu.Unlock()
	h.Drops = s.ring.dropped()
	return h
}

// Next implements Source.
func (s *V4L2Source) Next(ctx context.Context, dst *frame.Frame) error {
	return s.ring.next(ctx, dst)
}

// Close stops Run, waits for it to release the device, and ends Next.
// Idempotent.
func (s *V4L2Source) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.life.close()
		s.ring.close()
	})
	return nil
}

var errStall = errors.New("no frame")

// Run implements Source. Cancellation is noticed within a second (the
// driver wait takes whole seconds).
func (s *V4L2Source) Run(ctx context.Context) error {
	if !s.life.start() {
		return nil
	}
	defer s.life.done()
	defer func() {
		s.mu.Lock()
		s.st.h.State = StateStopped
		s.mu.Unlock()
	}()
	backoff := s.cfg.MaxBackoff / 8
	if backoff <= 0 {
		backoff = time.Millisecond
	}
	opened := 0
	for {
		if s.stopped(ctx) {
			return nil
		}
		started, err := s.session(ctx, &opened)
		if s.stopped(ctx) {
			return nil
		}
		if started {
			backoff = s.cfg.MaxBackoff / 8
		}
		now := s.opt.Clock.Now()
		s.mu.Lock()
		s.st.fail(now, StateUnplugged, err)
		s.mu.Unlock()
		s.log.Warn("camera down; reopening", "err", err, "backoff", backoff)
		t := s.opt.Clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.stop:
			t.Stop()
			return nil
		case <-t.C():
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

func (s *V4L2Source) stopped(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-s.stop:
		return true
	default:
		return false
	}
}

// session opens the device and streams until it fails, the context
// ends or the source is closed. started reports whether a frame came.
func (s *V4L2Source) session(ctx context.Context, opened *int) (started bool, err error) {
	path, err := s.opt.Resolve(s.cfg.Device)
	if err != nil {
		return false, fmt.Errorf("camera %q: resolve %s: %w", s.cfg.Name, s.cfg.Device, err)
	}
	dev, err := s.opt.Open(path)
	if err != nil {
		return false, fmt.Errorf("camera %q: open %s: %w", s.cfg.Name, path, err)
	}
	defer dev.Close()
	mode, controls, err := s.setup(dev)
	if err != nil {
		return false, err
	}
	if err := dev.SetBufferCount(s.opt.Buffers); err != nil {
		return false, fmt.Errorf("camera %q: buffers: %w", s.cfg.Name, err)
	}
	if err := dev.StartStreaming(); err != nil {
		return false, fmt.Errorf("camera %q: start streaming: %w", s.cfg.Name, err)
	}
	// Every driver buffer is copied and released before the next wait,
	// so StopStreaming never unmaps a buffer still in use.
	defer dev.StopStreaming()
	*opened++
	s.mu.Lock()
	if *opened > 1 {
		s.st.h.Reopens++
	}
	s.st.h.Path, s.st.h.Mode, s.st.h.Controls = path, mode, controls
	s.st.h.State = StateStarting
	s.st.interval = time.Duration(float64(time.Second) / mode.FPS)
	s.mu.Unlock()
	for _, c := range controls {
		if c.Status != ControlApplied {
			s.log.Warn("camera control", "control", c.String())
		}
	}
	s.log.Info("camera streaming", "path", path, "mode", mode.String())

	lastFrame := s.opt.Clock.Now()
	checked := false
	for {
		if s.stopped(ctx) {
			return started, nil
		}
		err := dev.WaitForFrame(1)
		var to *webcam.Timeout
		if errors.As(err, &to) {
			if s.opt.Clock.Now().Sub(lastFrame) >= s.cfg.ReopenAfter {
				return started, fmt.Errorf("camera %q: %w for %v", s.cfg.Name, errStall, s.cfg.ReopenAfter)
			}
			continue
		}
		if err != nil {
			return started, fmt.Errorf("camera %q: wait for frame: %w", s.cfg.Name, err)
		}
		buf, idx, err := dev.GetFrame()
		if errors.Is(err, syscall.EAGAIN) {
			continue
		}
		if err != nil {
			return started, fmt.Errorf("camera %q: dequeue: %w", s.cfg.Name, err)
		}
		t := s.opt.Clock.Now()
		s.scratch = append(s.scratch[:0], buf...)
		if err := dev.ReleaseFrame(idx); err != nil {
			return started, fmt.Errorf("camera %q: requeue: %w", s.cfg.Name, err)
		}
		lastFrame = t
		started = true
		s.deliver(t, &mode, &checked)
	}
}

// deliver decodes the raw copy into a ring slot and publishes it.
func (s *V4L2Source) deliver(t time.Time, mode *Mode, checked *bool) {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	slot := s.ring.acquire()
	slot.Width, slot.Height = mode.Width, mode.Height
	if len(s.scratch) == 0 {
		s.corrupt(t, slot, fmt.Errorf("camera %q frame %d: %w: empty buffer", s.cfg.Name, seq, ErrCorrupt))
		return
	}
	if err := s.opt.Decoder.Decode(slot, s.scratch, mode.Format); err != nil {
		s.corrupt(t, slot, fmt.Errorf("camera %q frame %d: %w", s.cfg.Name, seq, err))
		return
	}
	if !*checked {
		// SetImageFormat echoes the request: the first good frame says
		// what the driver really chose.
		*checked = true
		if slot.Width != mode.Width || slot.Height != mode.Height {
			s.log.Warn("driver chose another size", "asked", fmt.Sprintf("%dx%d", mode.Width, mode.Height),
				"got", fmt.Sprintf("%dx%d", slot.Width, slot.Height))
			mode.Width, mode.Height = slot.Width, slot.Height
			s.mu.Lock()
			s.st.h.Mode = *mode
			s.mu.Unlock()
		}
	}
	slot.Camera, slot.Seq, slot.Time = s.cfg.Name, seq, t
	if s.opt.OnRaw != nil {
		s.opt.OnRaw(slot, s.scratch, mode.Format)
	}
	s.ring.publish(slot)
	s.mu.Lock()
	s.st.frame(t)
	s.mu.Unlock()
}

func (s *V4L2Source) corrupt(t time.Time, slot *frame.Frame, err error) {
	s.ring.discard(slot)
	s.mu.Lock()
	s.st.h.Corrupt++
	s.st.fail(t, "", err)
	s.mu.Unlock()
}

// setup negotiates the mode, sets it and reads it back, then applies
// the controls.
func (s *V4L2Source) setup(dev Device) (Mode, []ControlResult, error) {
	mode, err := Choose(dev, s.cfg)
	if err != nil {
		return mode, nil, err
	}
	code, _, _, err := dev.SetImageFormat(mode.Format.FourCC(), uint32(mode.Width), uint32(mode.Height))
	if err != nil {
		return mode, nil, s.cfg.errf("format", "set %s: %v", mode, err)
	}
	if code != mode.Format.FourCC() {
		return mode, nil, s.cfg.errf("format", "asked for %s, driver chose %s", mode.Format, FormatOf(code))
	}
	if err := dev.SetFramerate(float32(mode.FPS)); err != nil {
		s.log.Warn("set frame rate", "fps", mode.FPS, "err", err)
	}
	if got, err := dev.GetFramerate(); err == nil && got > 0 && math.Abs(float64(got)-mode.FPS) > 0.5 {
		s.log.Warn("driver chose another frame rate", "asked", mode.FPS, "got", got)
		mode.FPS = float64(got)
	}
	return mode, ApplyControls(dev, s.cfg.Controls), nil
}
