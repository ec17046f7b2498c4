package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/laned/laned/internal/clock"
)

// Options are a Bank's collaborators. The callbacks run on the inputs'
// goroutines and must not block for long.
type Options struct {
	Clock        clock.Clock
	Log          *slog.Logger
	OnTransition func(Transition)
	OnFault      func(Fault)
	// Poll bounds each edge wait (default 100 ms), so stuck-on and the
	// end of a chatter burst are noticed without an edge.
	Poll time.Duration
}

// Bank is a board's presence inputs and outputs.
type Bank struct {
	opt     Options
	inputs  []*input
	outputs []*Output
	once    sync.Once

	mu     sync.Mutex
	closed bool
	cancel context.CancelFunc // of a running Run
	exited chan struct{}
}

// InputHealth is one input's snapshot.
type InputHealth struct {
	Name, Role, Device string
	Active             bool
	Since              time.Time
	Transitions, Edges uint64
	// Faults latched now, and how often each kind was raised.
	Faults      []FaultKind
	FaultCounts map[FaultKind]uint64
}

type input struct {
	cfg  InputConfig
	key  string
	pin  gpio.PinIO
	low  bool // active low
	opt  *Options
	edge []time.Time // last ChatterEdges+1 edge times (ring)
	ei   int

	mu          sync.Mutex
	active      bool
	since       time.Time
	lastOff     time.Time // when it last went inactive
	transitions uint64
	edges       uint64
	faults      map[FaultKind]bool
	counts      map[FaultKind]uint64
	misses      int
}

// NewBank validates cfg, finds every line (a clear error naming the key
// and the chip/line when the board lacks it) and configures it.
func NewBank(cfg Config, lines Lines, opt Options) (*Bank, error) {
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
	opt.Log = opt.Log.With("component", "sensor")
	if opt.Poll <= 0 {
		opt.Poll = 100 * time.Millisecond
	}
	b := &Bank{opt: opt}
	fail := func(err error) (*Bank, error) {
		b.Close()
		return nil, err
	}
	lineErr := func(k, name, chip string, line int, err error) error {
		sub := "line"
		if errors.Is(err, ErrNoChip) {
			sub = "chip"
		}
		return &FieldError{Key: k + "." + sub, Input: name, Device: device(chip, line), Msg: err.Error(), Err: err}
	}
	for i, ic := range cfg.Inputs {
		k := fmt.Sprintf("%s.inputs[%d]", cfg.Key, i)
		pin, err := lines.Line(ic.Chip, ic.Line)
		if err != nil {
			return fail(lineErr(k, ic.Name, ic.Chip, ic.Line, err))
		}
		pull, _ := parsePull(ic.Pull)
		if err := pin.In(pull, gpio.BothEdges); err != nil {
			return fail(&FieldError{Key: k, Input: ic.Name, Device: device(ic.Chip, ic.Line), Msg: "configure input: " + err.Error()})
		}
		b.inputs = append(b.inputs, &input{cfg: ic, key: k, pin: pin, low: ic.Active == "low", opt: &b.opt,
			edge: make([]time.Time, ic.ChatterEdges+1), faults: map[FaultKind]bool{}, counts: map[FaultKind]uint64{}})
	}
	for i, oc := range cfg.Outputs {
		k := fmt.Sprintf("%s.outputs[%d]", cfg.Key, i)
		pin, err := lines.Line(oc.Chip, oc.Line)
		if err != nil {
			return fail(lineErr(k, oc.Name, oc.Chip, oc.Line, err))
		}
		o := &Output{Name: oc.Name, Role: oc.Role, pin: pin, low: oc.Active == "low"}
		if err := o.Set(false); err != nil {
			return fail(&FieldError{Key: k, Input: oc.Name, Device: device(oc.Chip, oc.Line), Msg: "configure output: " + err.Error()})
		}
		b.outputs = append(b.outputs, o)
	}
	return b, nil
}

// Run watches every input until ctx ends or Close; it returns nil then.
func (b *Bank) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.closed || b.exited != nil {
		b.mu.Unlock()
		return nil
	}
	ctx, b.cancel = context.WithCancel(ctx)
	b.exited = make(chan struct{})
	b.mu.Unlock()
	defer close(b.exited)
	var wg sync.WaitGroup
	for _, in := range b.inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// Close stops Run (interrupting edge waits) and waits for it, switches
// the outputs off and releases the lines; idempotent.
func (b *Bank) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		cancel, exited := b.cancel, b.exited
		b.mu.Unlock()
		if cancel != nil {
			cancel()
			for _, in := range b.inputs {
				in.pin.Halt() // interrupts a WaitForEdge on the chardev
			}
			<-exited
		}
		for _, o := range b.outputs {
			o.Set(false)
			o.pin.Halt()
			release(o.pin)
		}
		for _, in := range b.inputs {
			in.pin.Halt()
			release(in.pin)
		}
	})
	return nil
}

// release closes a line that can be closed (gpioioctl's GPIOLine).
func release(p any) {
	if c, ok := p.(interface{ Close() }); ok {
		c.Close()
	}
}

// Output returns the output with that role (strobe, status), nil if the
// board has none.
func (b *Bank) Output(role string) *Output {
	for _, o := range b.outputs {
		if o.Role == role {
			return o
		}
	}
	return nil
}

// Health returns a snapshot of every input.
func (b *Bank) Health() []InputHealth {
	out := make([]InputHealth, 0, len(b.inputs))
	for _, in := range b.inputs {
		in.mu.Lock()
		h := InputHealth{Name: in.cfg.Name, Role: in.cfg.Role, Device: device(in.cfg.Chip, in.cfg.Line),
			Active: in.active, Since: in.since, Transitions: in.transitions, Edges: in.edges,
			FaultCounts: map[FaultKind]uint64{}}
		for _, k := range []FaultKind{FaultStuckOn, FaultStuckOff, FaultChatter} {
			if in.faults[k] {
				h.Faults = append(h.Faults, k)
			}
			if n := in.counts[k]; n > 0 {
				h.FaultCounts[k] = n
			}
		}
		in.mu.Unlock()
		out = append(out, h)
	}
	return out
}

// VehicleSeen tells the bank the video trigger saw a vehicle present from
// from to to. An arrival or departure input that stayed inactive
// throughout (2 s of grace either side) misses it; StuckOffAfter misses
// in a row raise stuck-off, which the input's next activation clears.
func (b *Bank) VehicleSeen(from, to time.Time) {
	const grace = 2 * time.Second
	for _, in := range b.inputs {
		if in.cfg.StuckOffAfter <= 0 {
			continue
		}
		in.mu.Lock()
		// Active now, or went inactive no earlier than the vehicle came.
		seen := in.active || !in.lastOff.IsZero() && !in.lastOff.Before(from.Add(-grace))
		var f *Fault
		if !seen {
			in.misses++
			if in.misses >= in.cfg.StuckOffAfter && !in.faults[FaultStuckOff] {
				f = in.raise(to, FaultStuckOff, fmt.Sprintf("inactive while the video trigger saw %d vehicles", in.misses))
			}
		}
		in.mu.Unlock()
		if f != nil {
			in.report(*f)
		}
	}
}

// raise latches a fault; in.mu held.
func (in *input) raise(at time.Time, k FaultKind, detail string) *Fault {
	in.faults[k] = true
	in.counts[k]++
	return &Fault{Input: in.cfg.Name, Kind: k, Raised: true, At: at, Detail: detail}
}

// clear releases a latched fault; in.mu held.
func (in *input) clear(at time.Time, k FaultKind, detail string) *Fault {
	if !in.faults[k] {
		return nil
	}
	delete(in.faults, k)
	return &Fault{Input: in.cfg.Name, Kind: k, Raised: false, At: at, Detail: detail}
}

func (in *input) report(f Fault) {
	lvl := slog.LevelWarn
	if !f.Raised {
		lvl = slog.LevelInfo
	}
	in.opt.Log.Log(context.Background(), lvl, "sensor fault", "fault", f.String())
	if in.opt.OnFault != nil {
		in.opt.OnFault(f)
	}
}

func (in *input) read() bool {
	l := in.pin.Read()
	return (l == gpio.High) != in.low
}

// run is the input's loop: wait for an edge (always with a positive
// timeout), read the level, debounce on the clock, check faults.
func (in *input) run(ctx context.Context) {
	clk := in.opt.Clock
	now := clk.Now()
	stable := in.read()
	in.mu.Lock()
	in.active, in.since = stable, now
	in.mu.Unlock()
	if stable {
		in.emit(Transition{Input: in.cfg.Name, Active: true, At: now})
	}
	cand, candSince := stable, now
	var moveStart time.Time // first edge away from the stable level
	var pend []Fault
	for ctx.Err() == nil {
		timeout := in.opt.Poll
		if cand != stable {
			timeout = min(timeout, candSince.Add(in.cfg.Debounce).Sub(now))
		}
		in.mu.Lock()
		stuck := in.faults[FaultStuckOn]
		in.mu.Unlock()
		if stable && !stuck {
			timeout = min(timeout, in.since.Add(in.cfg.MaxPresence).Sub(now))
		}
		timeout = max(timeout, time.Millisecond) // WaitForEdge(0) blocks for ever on the chardev
		edge := in.pin.WaitForEdge(timeout)
		now = clk.Now()
		raw := in.read()
		in.mu.Lock()
		if edge {
			in.edges++
			in.edge[in.ei] = now
			in.ei = (in.ei + 1) % len(in.edge)
		}
		if raw != cand {
			cand, candSince = raw, now
			if moveStart.IsZero() && raw != stable {
				moveStart = now
			}
		}
		if cand == stable && !moveStart.IsZero() && now.Sub(candSince) >= in.cfg.Debounce {
			moveStart = time.Time{} // a bounce that came back: no change
		}
		var tr *Transition
		if cand != stable && now.Sub(candSince) >= in.cfg.Debounce {
			at := moveStart
			if at.IsZero() {
				at = candSince
			}
			moveStart = time.Time{}
			stable = cand
			in.active, in.since = stable, at
			in.transitions++
			tr = &Transition{Input: in.cfg.Name, Active: stable, At: at}
			if stable {
				in.misses = 0
				if f := in.clear(at, FaultStuckOff, "active again"); f != nil {
					pend = append(pend, *f)
				}
			} else {
				in.lastOff = at
				if f := in.clear(at, FaultStuckOn, "inactive again"); f != nil {
					pend = append(pend, *f)
				}
			}
		}
		if stable && !in.faults[FaultStuckOn] && now.Sub(in.since) >= in.cfg.MaxPresence {
			pend = append(pend, *in.raise(now, FaultStuckOn, fmt.Sprintf("active for %v (max_presence %v)", now.Sub(in.since).Round(time.Millisecond), in.cfg.MaxPresence)))
		}
		n := in.recentEdges(now)
		if !in.faults[FaultChatter] && n > in.cfg.ChatterEdges {
			pend = append(pend, *in.raise(now, FaultChatter, fmt.Sprintf("more than %d edges in 1 s", in.cfg.ChatterEdges)))
		} else if in.faults[FaultChatter] && n <= in.cfg.ChatterEdges/4 {
			if f := in.clear(now, FaultChatter, fmt.Sprintf("%d edges in the last second", n)); f != nil {
				pend = append(pend, *f)
			}
		}
		in.mu.Unlock()
		if tr != nil {
			in.emit(*tr)
		}
		for _, f := range pend {
			in.report(f)
		}
		pend = pend[:0]
	}
}

// recentEdges counts edges in the last second; in.mu held.
func (in *input) recentEdges(now time.Time) int {
	n := 0
	for _, t := range in.edge {
		if !t.IsZero() && now.Sub(t) < time.Second {
			n++
		}
	}
	return n
}

func (in *input) emit(t Transition) {
	if in.opt.OnTransition != nil {
		in.opt.OnTransition(t)
	}
}

// Output is an optional output line (illuminator strobe, status light).
type Output struct {
	Name, Role string
	pin        gpio.PinOut
	low        bool
	mu         sync.Mutex
	on         bool
}

// Set switches the output on or off, honouring its active level.
func (o *Output) Set(on bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := gpio.Level(on != o.low)
	if err := o.pin.Out(l); err != nil {
		return fmt.Errorf("output %q: %w", o.Name, err)
	}
	o.on = on
	return nil
}

// On reports the last level set.
func (o *Output) On() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.on
}
