package lane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/summary"
)

// State is where the lane's state machine is.
type State string

const (
	StateIdle      State = "idle"      // no vehicle
	StateCapturing State = "capturing" // a vehicle is present
	StatePost      State = "post"      // departed, capturing the post margin
)

// Lane is the transaction engine of one lane. Offer and Signal are safe
// from any goroutine; Run is the single consumer.
type Lane struct {
	cfg  Config
	d    Deps
	clk  Clock
	log  *slog.Logger
	slot *slots

	sigMu   sync.Mutex
	sigs    []Signal
	sigDrop uint64
	sigNote chan struct{}

	quit      chan struct{}
	closeOnce sync.Once
	running   atomic.Bool
	done      chan struct{}      // closed when Run returns
	syncReq   chan chan struct{} // Sync's requests
	waiters   []chan struct{}    // Sync calls answered at the next idle point

	// Owned by Run.
	cur      *txn
	trail    *txn // the previous vehicle, cut by the next arrival, until it departs
	deciding []*txn
	embedQ   []embedJob
	inputs   map[string]*inputState
	cams     map[string]*camState
	pending  [][]byte // summaries the sink refused, retried
	retryAt  time.Time
	txSeq    uint64
	started  time.Time
	retained int // chips and templates held (privacy accounting)

	statMu sync.Mutex
	stats  Stats
}

type inputState struct {
	active  bool
	since   time.Time
	fault   string // "" healthy
	faultAt time.Time
	stuck   bool // the fault was the lane's own stuck-on detection
}

type camState struct {
	fault   string
	faultAt time.Time
}

type embedJob struct {
	t *track
	s *shot
}

// txn is one vehicle's transaction.
type txn struct {
	id         string
	start      time.Time
	trigger    string // summary.TriggerLoop or TriggerVideo
	endSource  string // the input whose falling level is the departure
	endRisen   bool   // endSource became active during this transaction
	captureEnd time.Time
	end        summary.End
	snap       Snapshot
	trackers   map[string]*tracker
	nextTrack  int
	faults     []summary.Fault
	camFault   map[string]bool
	frames     int
	detect     time.Duration
	embedDur   time.Duration
	matchDur   time.Duration
}

// New validates cfg (WithDefaults is applied) and the dependencies.
func New(cfg Config, d Deps) (*Lane, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lane: config: %w", err)
	}
	var errs []error
	if !reName.MatchString(d.Site) {
		errs = append(errs, fmt.Errorf("site %q is not a name", d.Site))
	}
	if !reName.MatchString(d.Lane) {
		errs = append(errs, fmt.Errorf("lane %q is not a name", d.Lane))
	}
	if d.Analyzer == nil {
		errs = append(errs, errors.New("no analyzer"))
	}
	if d.Gallery == nil {
		errs = append(errs, errors.New("no gallery"))
	}
	if d.Sink == nil {
		errs = append(errs, errors.New("no sink"))
	}
	if cfg.Evidence && d.Evidence == nil {
		errs = append(errs, errors.New("lane.evidence is on but no evidence store was given"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("lane: %w", err)
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Events == nil {
		d.Events = nopEvents{}
	}
	l := &Lane{
		cfg: cfg, d: d, clk: d.Clock, log: d.Logger.With("component", "lane", "lane", d.Lane),
		slot: newSlots(cfg.Cameras), sigNote: make(chan struct{}, 1), quit: make(chan struct{}),
		done: make(chan struct{}), syncReq: make(chan chan struct{}),
		inputs: map[string]*inputState{}, cams: map[string]*camState{},
	}
	for _, n := range []string{cfg.ArrivalInput, cfg.DepartureInput, cfg.VideoInput} {
		l.inputs[n] = &inputState{}
	}
	for _, c := range cfg.Cameras {
		l.cams[c.Name] = &camState{}
	}
	l.stats = newStats(cfg)
	return l, nil
}

type nopEvents struct{}

func (nopEvents) Fault(context.Context, Fault) {}

// Offer hands the lane a camera's frame. It never blocks: a frame not yet
// analysed is replaced by the newer one (counted as skipped). It reports
// false for a camera the lane does not know.
func (l *Lane) Offer(f *frame.Frame) bool { return l.slot.offer(f) }

// maxSignals bounds the signal queue between two turns of Run.
const maxSignals = 1024

// Signal hands the lane a presence transition or a fault. It never blocks.
func (l *Lane) Signal(s Signal) {
	l.sigMu.Lock()
	if len(l.sigs) >= maxSignals {
		l.sigDrop++
	} else {
		l.sigs = append(l.sigs, s)
	}
	l.sigMu.Unlock()
	select {
	case l.sigNote <- struct{}{}:
	default:
	}
}

// Close stops a running Run (as a cancellation would) and is idempotent.
func (l *Lane) Close() error {
	l.closeOnce.Do(func() { close(l.quit) })
	return nil
}

// Run is the lane's worker. It returns nil on cancellation (or Close),
// after finishing the open transaction within Config.ShutdownTimeout.
func (l *Lane) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("lane: Run called twice")
	}
	defer close(l.done)
	defer l.releaseWaiters()
	select {
	case <-l.quit:
		return nil
	default:
	}
	l.started = l.clk.Now()
	timer := l.clk.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil || l.closed() {
			l.shutdown(ctx)
			return nil
		}
		now := l.clk.Now()
		l.drainSignals(ctx)
		l.checkDeadlines(ctx, now)
		l.flushPending(ctx, now)
		if len(l.deciding) > 0 {
			t := l.deciding[0]
			l.deciding = l.deciding[1:]
			l.decide(ctx, t)
			continue
		}
		if len(l.embedQ) > 0 {
			l.runEmbeds(ctx)
			continue
		}
		if l.cur != nil || l.trail != nil {
			if f := l.slot.take(now); f != nil {
				l.analyze(ctx, f)
				continue
			}
		}
		l.publishStats(now)
		l.releaseWaiters() // caught up with everything offered before each Sync
		d := time.Hour
		if next := l.nextDeadline(); !next.IsZero() {
			d = max(next.Sub(now), time.Millisecond)
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
		case <-l.quit:
		case <-l.sigNote:
		case <-l.slot.notify:
		case <-timer.C():
		case w := <-l.syncReq:
			l.waiters = append(l.waiters, w)
		}
	}
}

func (l *Lane) releaseWaiters() {
	for _, w := range l.waiters {
		close(w)
	}
	l.waiters = nil
}

// ErrNotRunning is returned by Sync when Run has returned.
var ErrNotRunning = errors.New("lane: not running")

// Sync waits until Run has handled every signal and frame offered before
// the call and has nothing left to do (frames of an empty lane stay in
// their slots). Replay uses it to run as fast as the pipeline allows on a
// simulated clock without skipping frames.
func (l *Lane) Sync(ctx context.Context) error {
	w := make(chan struct{})
	select {
	case l.syncReq <- w:
	case <-l.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w:
		return nil
	case <-l.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Lane) closed() bool {
	select {
	case <-l.quit:
		return true
	default:
		return false
	}
}

func (l *Lane) shutdown(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.ShutdownTimeout)
	defer cancel()
	l.drainSignals(sctx)
	now := l.clk.Now()
	if l.trail != nil {
		l.finishTrail(now)
	}
	if l.cur != nil {
		l.closeCapture(now, summary.EndShutdown)
	}
	for _, t := range l.deciding {
		l.decide(sctx, t)
	}
	l.deciding = nil
	l.flushPending(sctx, time.Time{})
	if n := len(l.pending); n > 0 {
		l.log.Error("summaries not committed at shutdown", "count", n)
	}
	l.embedQ = nil
	l.slot.clear()
	l.publishStats(l.clk.Now())
}

func (l *Lane) open(ctx context.Context, at time.Time, trigger, endSource string) {
	l.txSeq++
	t := &txn{
		id:    fmt.Sprintf("%.32s-%s-%04d", l.d.Lane, at.UTC().Format("20060102T150405.000"), l.txSeq%10000),
		start: at, trigger: trigger, endSource: endSource, snap: l.d.Gallery.Current(),
		trackers: map[string]*tracker{}, camFault: map[string]bool{},
		endRisen: endSource == l.cfg.ArrivalInput || endSource == l.cfg.VideoInput,
	}
	for _, c := range l.cfg.Cameras {
		t.trackers[c.Name] = &tracker{gap: l.cfg.TrackGap, distance: l.cfg.TrackDistance, nextID: &t.nextTrack}
		if f := l.cams[c.Name].fault; f != "" {
			t.addFault(c.Name, f)
		}
	}
	for n, in := range l.inputs {
		if in.fault != "" {
			t.addFault(n, faultPrefix(n != l.cfg.VideoInput)+in.fault)
		}
	}
	l.cur = t
	l.slot.discardBefore(at.Add(-l.cfg.PreMargin))
	l.slot.setAccepting(true)
	l.setState(StateCapturing)
	l.log.Debug("vehicle present", "transaction", t.id, "trigger", trigger)
}

// closeCapture ends the open transaction's capture at at and queues it for
// the decision.
func (l *Lane) closeCapture(at time.Time, end summary.End) {
	t := l.cur
	t.captureEnd, t.end = at, end
	l.cur = nil
	l.deciding = append(l.deciding, t)
	l.slot.setAccepting(l.trail != nil)
	l.setState(StateIdle)
}

// finishTrail ends the trailing vehicle's capture at at (or earlier, when
// its departure margin already ran out).
func (l *Lane) finishTrail(at time.Time) {
	t := l.trail
	if t.captureEnd.IsZero() || at.Before(t.captureEnd) {
		t.captureEnd = at
	}
	l.trail = nil
	l.deciding = append(l.deciding, t)
	l.slot.setAccepting(l.cur != nil)
}

func (l *Lane) checkDeadlines(ctx context.Context, now time.Time) {
	if t := l.trail; t != nil {
		if maxEnd := t.start.Add(l.cfg.MaxCapture); !now.Before(maxEnd) {
			l.finishTrail(maxEnd)
		} else if !t.captureEnd.IsZero() && !now.Before(t.captureEnd) {
			l.finishTrail(t.captureEnd)
		}
	}
	if t := l.cur; t != nil {
		maxEnd := t.start.Add(l.cfg.MaxCapture)
		switch {
		case !t.captureEnd.IsZero() && !now.Before(t.captureEnd):
			l.closeCapture(t.captureEnd, t.end)
		case !now.Before(maxEnd) && (t.captureEnd.IsZero() || t.captureEnd.After(maxEnd)):
			l.closeCapture(maxEnd, summary.EndMaxCapture)
		}
	}
	for _, n := range []string{l.cfg.ArrivalInput, l.cfg.DepartureInput} {
		in := l.inputs[n]
		if in.active && in.fault == "" && l.cfg.Trigger == TriggerLoop && !now.Before(in.since.Add(l.cfg.MaxPresence)) {
			l.inputFault(ctx, n, "stuck_on", in.since.Add(l.cfg.MaxPresence), true)
		}
	}
	for _, c := range l.cfg.Cameras {
		cs := l.cams[c.Name]
		last := l.slot.lastFrame(c.Name)
		if cs.fault != "" {
			if last.After(cs.faultAt) {
				l.cameraRecovered(ctx, c.Name, last)
			}
			continue
		}
		ref := last
		if ref.IsZero() || ref.Before(l.started) {
			ref = l.started
		}
		if !now.Before(ref.Add(l.cfg.CameraStall)) {
			l.cameraFault(ctx, c.Name, "camera.lost", ref.Add(l.cfg.CameraStall))
		}
	}
}

func (l *Lane) nextDeadline() time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, t := range []*txn{l.cur, l.trail} {
		if t != nil {
			at(t.captureEnd)
			at(t.start.Add(l.cfg.MaxCapture))
		}
	}
	if l.cfg.Trigger == TriggerLoop {
		for _, n := range []string{l.cfg.ArrivalInput, l.cfg.DepartureInput} {
			if in := l.inputs[n]; in.active && in.fault == "" {
				at(in.since.Add(l.cfg.MaxPresence))
			}
		}
	}
	for _, c := range l.cfg.Cameras {
		if l.cams[c.Name].fault == "" {
			ref := l.slot.lastFrame(c.Name)
			if ref.IsZero() || ref.Before(l.started) {
				ref = l.started
			}
			at(ref.Add(l.cfg.CameraStall))
		}
	}
	if len(l.pending) > 0 {
		at(l.retryAt)
	}
	return next
}
