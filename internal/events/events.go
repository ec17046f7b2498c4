package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
)

// Severity of an event, as the summary schema names them.
type Severity string

const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Error    Severity = "error"
	Critical Severity = "critical"
)

// Fault is a fault raised by a component.
type Fault struct {
	Code     string // e.g. "camera.lost": [a-z][a-z0-9_.]*
	Source   string // what it is about, e.g. "camera/front"; part of the key
	Severity Severity
	Message  string
	Details  map[string]string
}

// Audit is a record of something an operator did.
type Audit struct {
	Code    string // e.g. "gallery.import"
	Actor   string // who: a user name, "uid:1000"
	Message string
	Details map[string]string
}

// Outbox is the part of *outbox.Outbox the emitter uses.
type Outbox interface {
	Enqueue(ctx context.Context, kind outbox.Kind, payload []byte) (outbox.Message, error)
}

// Options configure New. Zero fields take the defaults named here.
type Options struct {
	Site, Lane string // lane identity; required
	Outbox     Outbox // required
	// FlapWindow: a fault raised again this soon after it was resolved
	// (or resolved this soon after it was raised) is flapping. Default 5m.
	FlapWindow time.Duration
	// Burst fault events may go out at once; then one per Refill.
	// Defaults 20 and 30s.
	Burst  int
	Refill time.Duration
	Clock  clock.Clock  // default clock.Real
	Log    *slog.Logger // default slog.Default
}

// Stats counts what the emitter did since New.
type Stats struct {
	Emitted     uint64 `json:"emitted"`
	Deduped     uint64 `json:"deduped"`      // raises of an active fault
	Flapping    uint64 `json:"flapping"`     // raises and resolutions folded into a flapping fault
	RateLimited uint64 `json:"rate_limited"` // held back by the rate limit
	Failed      uint64 `json:"failed"`       // the outbox refused them
}

type faultState struct {
	active  bool
	changed time.Time // last raise or resolve, emitted or not
	folded  int       // raises/resolutions not emitted since the last emitted one
	last    Fault     // the last raise or resolve
}

// Emitter writes events to the outbox. Safe for concurrent use.
type Emitter struct {
	o   Options
	clk clock.Clock
	log *slog.Logger

	mu      sync.Mutex
	faults  map[string]*faultState
	tokens  float64
	refill  time.Time
	limited uint64 // held back since the last emitted fault
	st      Stats
	done    chan struct{}
	once    sync.Once
}

// New checks o and returns an emitter.
func New(o Options) (*Emitter, error) {
	if o.Outbox == nil {
		return nil, errors.New("events: no outbox")
	}
	if o.Site == "" || o.Lane == "" {
		return nil, errors.New("events: site and lane are required")
	}
	if o.FlapWindow < 0 || o.Burst < 0 || o.Refill < 0 {
		return nil, errors.New("events: negative flap window, burst or refill")
	}
	if o.FlapWindow == 0 {
		o.FlapWindow = 5 * time.Minute
	}
	if o.Burst == 0 {
		o.Burst = 20
	}
	if o.Refill == 0 {
		o.Refill = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Emitter{o: o, clk: o.Clock, log: o.Log.With("component", "events"), faults: map[string]*faultState{},
		tokens: float64(o.Burst), refill: o.Clock.Now(), done: make(chan struct{})}, nil
}

// take spends a rate-limit token; e.mu must be held.
func (e *Emitter) take(now time.Time) bool {
	if d := now.Sub(e.refill); d > 0 {
		e.tokens = min(float64(e.o.Burst), e.tokens+float64(d)/float64(e.o.Refill))
		e.refill = now
	}
	if e.tokens < 1 {
		e.limited++
		e.st.RateLimited++
		return false
	}
	e.tokens--
	return true
}

// Raise reports a fault. It returns nil when the event was committed or
// deliberately not sent (already active, flapping, rate limited: see
// Stats); an error when the outbox refused it.
func (e *Emitter) Raise(ctx context.Context, f Fault) error {
	if f.Severity == "" {
		f.Severity = Error
	}
	return e.fault(ctx, f, true)
}

// Resolve reports that a fault is over (an info event "<code>.resolved").
// Resolving a fault that is not active does nothing.
func (e *Emitter) Resolve(ctx context.Context, code, source, message string) error {
	return e.fault(ctx, Fault{Code: code, Source: source, Severity: Info, Message: message}, false)
}

func (e *Emitter) fault(ctx context.Context, f Fault, raise bool) error {
	key := f.Code + "\x00" + f.Source
	now := e.clk.Now()
	e.mu.Lock()
	s := e.faults[key]
	if s == nil {
		if !raise {
			e.mu.Unlock()
			return nil
		}
		s = &faultState{}
		e.faults[key] = s
	}
	if s.active == raise {
		if raise {
			e.st.Deduped++
		}
		e.mu.Unlock()
		return nil
	}
	// A raise soon after a resolution starts a flapping streak; while a
	// streak is open every change is folded, and settle reports the state
	// once the fault has been quiet for FlapWindow.
	streak := s.folded > 0 || (raise && !s.changed.IsZero() && now.Sub(s.changed) < e.o.FlapWindow)
	s.active, s.changed, s.last = raise, now, f
	if streak {
		s.folded++
		e.st.Flapping++
		e.mu.Unlock()
		return nil
	}
	ev, ok := e.faultEvent(s, now)
	e.mu.Unlock()
	if !ok {
		return nil
	}
	return e.emit(ctx, ev, now)
}

// faultEvent builds the event of s's current state, spending a token; e.mu
// must be held. Without a token the change is folded for settle to report.
func (e *Emitter) faultEvent(s *faultState, now time.Time) (*summary.Event, bool) {
	if !e.take(now) {
		s.folded++
		return nil, false
	}
	f := s.last
	details := maps.Clone(f.Details)
	if details == nil {
		details = map[string]string{}
	}
	if f.Source != "" {
		details["source"] = f.Source
	}
	if s.folded > 0 {
		details["flaps"] = strconv.Itoa(s.folded)
		s.folded = 0
	}
	if e.limited > 0 {
		details["rate_limited"] = strconv.FormatUint(e.limited, 10)
		e.limited = 0
	}
	code, sev := f.Code, f.Severity
	if !s.active {
		code, sev = code+".resolved", Info
	}
	return &summary.Event{Category: "fault", Severity: string(sev), Code: code, Message: f.Message, Details: details}, true
}

// settle reports, once, the state of every fault whose flapping streak
// (or rate-limited change) has been quiet for FlapWindow.
func (e *Emitter) settle(ctx context.Context) {
	now := e.clk.Now()
	var evs []*summary.Event
	e.mu.Lock()
	for _, s := range e.faults {
		if s.folded > 0 && now.Sub(s.changed) >= e.o.FlapWindow {
			if ev, ok := e.faultEvent(s, now); ok {
				evs = append(evs, ev)
			}
		}
	}
	e.mu.Unlock()
	for _, ev := range evs {
		e.emit(ctx, ev, now) // counted and logged on failure
	}
}

// Audit records an operator's action. It is never suppressed.
func (e *Emitter) Audit(ctx context.Context, a Audit) error {
	return e.emit(ctx, &summary.Event{Category: "audit", Severity: string(Info), Code: a.Code, Message: a.Message,
		Actor: a.Actor, Details: maps.Clone(a.Details)}, e.clk.Now())
}

func (e *Emitter) emit(ctx context.Context, ev *summary.Event, now time.Time) error {
	ev.Header = summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindEvent}
	ev.Site, ev.Lane, ev.At = e.o.Site, e.o.Lane, now.UTC()
	if len(ev.Details) == 0 {
		ev.Details = nil
	}
	b, err := summary.Marshal(ev)
	if err == nil {
		_, err = e.o.Outbox.Enqueue(ctx, outbox.KindEvent, b)
	}
	e.mu.Lock()
	if err != nil {
		e.st.Failed++
	} else {
		e.st.Emitted++
	}
	e.mu.Unlock()
	if err != nil {
		e.log.Error("event not queued", "code", ev.Code, "err", err)
		return fmt.Errorf("events: %s: %w", ev.Code, err)
	}
	e.log.Info("event", "category", ev.Category, "severity", ev.Severity, "code", ev.Code, "message", ev.Message)
	return nil
}

// Stats returns the counters.
func (e *Emitter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st
}

// Run reports settled flapping faults every FlapWindow/4 until ctx is
// cancelled or Close; then it returns nil.
func (e *Emitter) Run(ctx context.Context) error {
	t := e.clk.NewTicker(max(e.o.FlapWindow/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.done:
			return nil
		case <-t.C():
			e.settle(ctx)
		}
	}
}

// Close ends Run. It is idempotent; Raise and Audit still work after it.
func (e *Emitter) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}
