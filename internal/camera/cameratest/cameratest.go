package cameratest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/blackjack/webcam"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/clock"
)

// Mode is one capture mode a fake camera offers.
type Mode struct {
	Format        camera.Format
	Width, Height int
	FPS           float64
}

// Control is a fake control: its range and current value.
type Control struct {
	webcam.Control
	Value int32
	// Refuse makes SetControl fail with EIO (a driver that lists a
	// control it will not set).
	Refuse bool
}

// Device is one scripted camera. Set the exported fields before Open.
type Device struct {
	Name     string
	Modes    []Mode
	Controls map[webcam.ControlID]*Control
	// Payload returns frame seq's bytes in mode m; nil means Pattern.
	Payload func(seq uint64, m Mode) []byte
	// DriverSize, when set, is the size the driver really uses whatever
	// is asked (SetImageFormat still echoes the request, like webcam).
	DriverSize func(w, h int) (int, int)
	// DriverFPS, when non-zero, is the rate the driver really uses.
	DriverFPS float64
	// Buffers is the driver's queue depth (default 4): frames the
	// consumer is too slow for beyond it are lost in the driver.
	Buffers int

	mu      sync.Mutex
	present bool
	stalled bool
	gone    chan struct{} // closed at unplug
	frames  uint64        // produced over the device's life
}

// Bus is the fake /dev: links (by-id paths) to nodes to devices.
type Bus struct {
	clk clock.Clock

	mu         sync.Mutex
	links      map[string]string // by-id link → /dev/videoN
	nodes      map[string]*Device
	opens      int
	closes     int
	violations []string
}

// NewBus returns an empty bus whose devices produce frames on clk.
func NewBus(clk clock.Clock) *Bus {
	return &Bus{clk: clk, links: map[string]string{}, nodes: map[string]*Device{}}
}

// Plug attaches d at node, reachable through link (may be equal).
func (b *Bus) Plug(link, node string, d *Device) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d.mu.Lock()
	d.present = true
	d.gone = make(chan struct{})
	if d.Buffers == 0 {
		d.Buffers = 4
	}
	d.mu.Unlock()
	b.links[link] = node
	b.nodes[node] = d
}

// Unplug removes the device behind link: open handles fail with ENODEV
// from then on, the link no longer resolves.
func (b *Bus) Unplug(link string) {
	b.mu.Lock()
	node := b.links[link]
	d := b.nodes[node]
	delete(b.links, link)
	delete(b.nodes, node)
	b.mu.Unlock()
	if d != nil {
		d.mu.Lock()
		if d.present {
			d.present = false
			close(d.gone)
		}
		d.mu.Unlock()
	}
}

// Stall stops (or restarts) frame production without unplugging.
func (d *Device) Stall(on bool) {
	d.mu.Lock()
	d.stalled = on
	d.mu.Unlock()
}

// Produced counts the frames the device made.
func (d *Device) Produced() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frames
}

// Resolve follows a link like filepath.EvalSymlinks.
func (b *Bus) Resolve(link string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n, ok := b.links[link]; ok {
		return n, nil
	}
	if _, ok := b.nodes[link]; ok {
		return link, nil
	}
	return "", &fsError{"lstat", link, syscall.ENOENT}
}

type fsError struct {
	op, path string
	err      error
}

func (e *fsError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *fsError) Unwrap() error { return e.err }

// Open implements camera.Opener.
func (b *Bus) Open(path string) (camera.Device, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.nodes[path]
	if !ok {
		return nil, &fsError{"open", path, syscall.ENOENT}
	}
	b.opens++
	return &handle{bus: b, d: d, gone: d.gone}, nil
}

// Live is the number of handles opened and not closed.
func (b *Bus) Live() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens - b.closes
}

// Opens counts successful opens.
func (b *Bus) Opens() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens
}

// Violations lists driver misuse seen so far.
func (b *Bus) Violations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.violations...)
}

func (b *Bus) violate(format string, a ...any) {
	b.mu.Lock()
	b.violations = append(b.violations, fmt.Sprintf(format, a...))
	b.mu.Unlock()
}

// handle is one open file description of a device.
type handle struct {
	bus  *Bus
	d    *Device
	gone chan struct{}

	mu        sync.Mutex
	closed    bool
	mode      Mode
	bufcount  uint32
	streaming bool
	buffers   [][]byte
	held      map[uint32]bool
	due       time.Time
	seq       uint64
	nextBuf   uint32
}

var errNoDev = syscall.ENODEV

func (h *handle) check() error {
	if h.closed {
		return syscall.EBADF
	}
	select {
	case <-h.gone:
		return errNoDev
	default:
		return nil
	}
}

func (h *handle) GetName() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return "", err
	}
	return h.d.Name, nil
}

func (h *handle) GetSupportedFormats() map[webcam.PixelFormat]string {
	out := map[webcam.PixelFormat]string{}
	if h.check() != nil {
		return out
	}
	for _, m := range h.d.Modes {
		code := m.Format.FourCC()
		if code == 0 {
			code = webcam.PixelFormat(uint32('H') | uint32('2')<<8 | uint32('6')<<16 | uint32('4')<<24)
		}
		out[code] = string(m.Format)
	}
	return out
}

func (h *handle) GetSupportedFrameSizes(f webcam.PixelFormat) []webcam.FrameSize {
	var out []webcam.FrameSize
	for _, m := range h.d.Modes {
		if m.Format.FourCC() == f || (m.Format.FourCC() == 0 && camera.FormatOf(f) == m.Format) {
			w, hh := uint32(m.Width), uint32(m.Height)
			out = append(out, webcam.FrameSize{MinWidth: w, MaxWidth: w, MinHeight: hh, MaxHeight: hh})
		}
	}
	return out
}

func (h *handle) GetSupportedFramerates(f webcam.PixelFormat, w, hh uint32) []webcam.FrameRate {
	var out []webcam.FrameRate
	for _, m := range h.d.Modes {
		if m.Format.FourCC() == f && uint32(m.Width) == w && uint32(m.Height) == hh {
			fps := uint32(m.FPS)
			out = append(out, webcam.FrameRate{MinNumerator: 1, MaxNumerator: 1, MinDenominator: fps, MaxDenominator: fps})
		}
	}
	return out
}

// SetImageFormat adjusts like a driver: an unknown format becomes the
// first offered one, the size the nearest offered; like webcam it
// returns the driver's format but the requested size.
func (h *handle) SetImageFormat(f webcam.PixelFormat, w, hh uint32) (webcam.PixelFormat, uint32, uint32, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return 0, 0, 0, err
	}
	if h.streaming {
		return 0, 0, 0, syscall.EBUSY
	}
	var cands []Mode
	for _, m := range h.d.Modes {
		if m.Format.FourCC() == f {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		if len(h.d.Modes) == 0 {
			return 0, 0, 0, syscall.EINVAL
		}
		for _, m := range h.d.Modes {
			if m.Format == h.d.Modes[0].Format {
				cands = append(cands, m)
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		return dist(cands[i], int(w), int(hh)) < dist(cands[j], int(w), int(hh))
	})
	h.mode = cands[0]
	if h.d.DriverSize != nil {
		h.mode.Width, h.mode.Height = h.d.DriverSize(int(w), int(hh))
	}
	if h.d.DriverFPS != 0 {
		h.mode.FPS = h.d.DriverFPS
	}
	return h.mode.Format.FourCC(), w, hh, nil
}

func dist(m Mode, w, h int) int {
	a, b := m.Width-w, m.Height-h
	return a*a + b*b
}

func (h *handle) SetFramerate(fps float32) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return err
	}
	for _, m := range h.d.Modes {
		if m.Format == h.mode.Format && m.Width == h.mode.Width && m.Height == h.mode.Height && float64(fps) == m.FPS && h.d.DriverFPS == 0 {
			h.mode.FPS = m.FPS
		}
	}
	return nil
}

func (h *handle) GetFramerate() (float32, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return 0, err
	}
	return float32(h.mode.FPS), nil
}

func (h *handle) SetBufferCount(n uint32) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streaming {
		return errors.New("cannot set buffer count when streaming")
	}
	h.bufcount = n
	return nil
}

func (h *handle) GetControls() map[webcam.ControlID]webcam.Control {
	out := map[webcam.ControlID]webcam.Control{}
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	for id, c := range h.d.Controls {
		out[id] = c.Control
	}
	return out
}

func (h *handle) GetControl(id webcam.ControlID) (int32, error) {
	if err := h.check(); err != nil {
		return 0, err
	}
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	c, ok := h.d.Controls[id]
	if !ok {
		return 0, syscall.EINVAL
	}
	return c.Value, nil
}

// SetControl clamps to the range and rounds to the step, as UVC drivers
// do; Refuse makes it fail.
func (h *handle) SetControl(id webcam.ControlID, v int32) error {
	if err := h.check(); err != nil {
		return err
	}
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	c, ok := h.d.Controls[id]
	if !ok {
		return syscall.EINVAL
	}
	if c.Refuse {
		return syscall.EIO
	}
	v = max(c.Min, min(c.Max, v))
	if c.Step > 1 {
		v = c.Min + (v-c.Min)/c.Step*c.Step
	}
	c.Value = v
	return nil
}

func (h *handle) StartStreaming() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return err
	}
	if h.streaming {
		return errors.New("already streaming")
	}
	if h.mode.Width == 0 {
		return syscall.EINVAL
	}
	n := h.bufcount
	if n == 0 {
		n = 4
	}
	h.buffers = make([][]byte, n)
	h.held = map[uint32]bool{}
	h.streaming = true
	h.due = h.bus.clk.Now().Add(h.interval())
	return nil
}

func (h *handle) interval() time.Duration {
	return time.Duration(float64(time.Second) / h.mode.FPS)
}

// WaitForFrame waits on the bus clock for the next frame, the unplug, or
// timeout whole seconds.
func (h *handle) WaitForFrame(timeout uint32) error {
	h.mu.Lock()
	if err := h.check(); err != nil {
		h.mu.Unlock()
		return err
	}
	if !h.streaming {
		h.mu.Unlock()
		return syscall.EINVAL
	}
	due := h.due
	h.mu.Unlock()
	clk := h.bus.clk
	limit := clk.NewTimer(time.Duration(timeout) * time.Second)
	defer limit.Stop()
	for {
		h.d.mu.Lock()
		stalled := h.d.stalled
		h.d.mu.Unlock()
		wait := due.Sub(clk.Now())
		if !stalled && wait <= 0 {
			return nil
		}
		if stalled {
			wait = h.interval()
		}
		t := clk.NewTimer(wait)
		select {
		case <-h.gone:
			t.Stop()
			return errNoDev
		case <-limit.C():
			t.Stop()
			return &webcam.Timeout{}
		case <-t.C():
			if stalled {
				h.mu.Lock()
				h.due = clk.Now().Add(h.interval())
				due = h.due
				h.mu.Unlock()
			}
		}
	}
}

func (h *handle) GetFrame() ([]byte, uint32, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return nil, 0, err
	}
	if !h.streaming {
		return nil, 0, syscall.EINVAL
	}
	now := h.bus.clk.Now()
	if now.Before(h.due) {
		return nil, 0, syscall.EAGAIN
	}
	iv := h.interval()
	// Frames the consumer was too slow for beyond the queue are lost.
	if late := now.Sub(h.due); late > time.Duration(len(h.buffers))*iv {
		h.seq += uint64(late / iv)
		h.due = h.due.Add(late / iv * iv)
	}
	h.due = h.due.Add(iv)
	idx := h.nextBuf
	if h.held[idx] {
		return nil, 0, syscall.EAGAIN // every buffer dequeued: the driver has none
	}
	h.nextBuf = (h.nextBuf + 1) % uint32(len(h.buffers))
	h.seq++
	h.d.mu.Lock()
	h.d.frames++
	h.d.mu.Unlock()
	var p []byte
	if h.d.Payload != nil {
		p = h.d.Payload(h.seq, h.mode)
	} else {
		p = Pattern(h.seq, h.mode)
	}
	h.buffers[idx] = append(h.buffers[idx][:0], p...)
	h.held[idx] = true
	return h.buffers[idx], idx, nil
}

func (h *handle) ReleaseFrame(idx uint32) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(); err != nil {
		return err
	}
	if !h.held[idx] {
		return syscall.EINVAL
	}
	delete(h.held, idx)
	return nil
}

// StopStreaming unmaps the buffers: one still held is a violation, and
// its bytes are overwritten so a reader of it sees garbage.
func (h *handle) StopStreaming() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.streaming {
		return errors.New("request to stop streaming when not streaming")
	}
	for idx := range h.held {
		h.bus.violate("%s: StopStreaming with buffer %d still dequeued", h.d.Name, idx)
		for i := range h.buffers[idx] {
			h.buffers[idx][i] = 0xDE
		}
	}
	h.streaming = false
	h.buffers, h.held = nil, nil
	return nil
}

func (h *handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return syscall.EBADF
	}
	if h.streaming {
		h.streaming = false
	}
	h.closed = true
	h.bus.mu.Lock()
	h.bus.closes++
	h.bus.mu.Unlock()
	return nil
}
