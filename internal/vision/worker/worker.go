package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
)

// Backend runs the nets: *pipeline.Pipeline. The worker calls it from its
// one goroutine only.
type Backend interface {
	AnalyzeFrame(f *frame.Frame) (vision.Analysis, error)
	Embed(chips []vision.Chip) ([]vision.Embedding, error)
}

// Priority orders queued requests: lower values run first.
type Priority int

const (
	// PriorityLane is the live lane's: frames of a passing vehicle.
	PriorityLane Priority = iota
	// PriorityConsole is everything else: console, enrolment, diagnostics.
	PriorityConsole
	numPriorities
)

func (p Priority) String() string {
	switch p {
	case PriorityLane:
		return "lane"
	case PriorityConsole:
		return "console"
	}
	return fmt.Sprintf("priority(%d)", int(p))
}

// MaxLaneRun is how many lane requests run in a row while a console
// request waits before one console request is let through.
const MaxLaneRun = 8

// ErrClosed is returned for requests made after Close or after Run has
// returned, and for requests still queued then.
var ErrClosed = errors.New("inference worker closed")

// Worker queues analysis and embedding requests and runs them one at a
// time on one locked OS thread.
type Worker struct {
	b   Backend
	log *slog.Logger

	running atomic.Bool
	wake    chan struct{} // capacity 1: "the queues changed"
	stop    chan struct{} // closed by Close
	once    sync.Once

	mu      sync.Mutex
	queues  [numPriorities][]*request
	closed  bool
	laneRun int // lane requests run in a row while console ones waited
	stats   Stats
}

// Stats counts requests since New.
type Stats struct {
	Served    [numPriorities]uint64 // run to the end
	Cancelled [numPriorities]uint64 // context ended while queued: never run
}

type request struct {
	ctx  context.Context
	prio Priority
	run  func()
	err  error         // set when not run: ctx.Err() or ErrClosed
	done chan struct{} // closed when run or dropped
}

// New returns a worker over b. log may be nil (slog.Default).
func New(b Backend, log *slog.Logger) (*Worker, error) {
	if b == nil {
		return nil, errors.New("inference worker: nil backend")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Worker{
		b:    b,
		log:  log.With("component", "vision-worker"),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}, nil
}

// Run serves requests on the calling goroutine, locked to its OS thread,
// until ctx ends or Close is called; it returns nil then (an error only
// when another Run is already serving). Requests still queued, and every
// later one, fail with ErrClosed.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("inference worker: Run called twice")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer w.Close()
	w.log.Debug("serving")
	for {
		r := w.next()
		if r == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-w.stop:
				return nil
			case <-w.wake:
			}
			continue
		}
		if err := r.ctx.Err(); err != nil {
			w.drop(r, err)
			continue
		}
		r.run()
		w.mu.Lock()
		w.stats.Served[r.prio]++
		w.mu.Unlock()
		close(r.done)
	}
}

// Close stops Run and fails every queued and later request with ErrClosed.
// It is idempotent. It does not close the Backend.
func (w *Worker) Close() error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		var left []*request
		for p := range w.queues {
			left = append(left, w.queues[p]...)
			w.queues[p] = nil
		}
		w.mu.Unlock()
		close(w.stop)
		for _, r := range left {
			r.err = ErrClosed
			close(r.done)
		}
	})
	return nil
}

// Stats returns the request counts so far.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Queued is the number of requests waiting at priority p.
func (w *Worker) Queued(p Priority) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p < 0 || p >= numPriorities {
		return 0
	}
	return len(w.queues[p])
}

// next pops the request to run: the lane's first, but a console request
// after MaxLaneRun lane requests in a row passed it.
func (w *Worker) next() *request {
	w.mu.Lock()
	defer w.mu.Unlock()
	lane, console := w.queues[PriorityLane], w.queues[PriorityConsole]
	pick := PriorityLane
	switch {
	case len(lane) == 0 && len(console) == 0:
		return nil
	case len(lane) == 0, len(console) > 0 && w.laneRun >= MaxLaneRun:
		pick = PriorityConsole
	}
	r := w.queues[pick][0]
	w.queues[pick][0] = nil
	w.queues[pick] = w.queues[pick][1:]
	switch {
	case pick == PriorityConsole:
		w.laneRun = 0
	case len(console) > 0:
		w.laneRun++
	}
	return r
}

// drop finishes r without running it.
func (w *Worker) drop(r *request, err error) {
	w.mu.Lock()
	w.stats.Cancelled[r.prio]++
	w.mu.Unlock()
	r.err = err
	close(r.done)
}

// do queues run at priority p and waits until it ran, ctx ended or the
// worker closed.
func (w *Worker) do(ctx context.Context, p Priority, run func()) error {
	if p < 0 || p >= numPriorities {
		return fmt.Errorf("inference worker: unknown %v", p)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, prio: p, run: run, done: make(chan struct{})}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.queues[p] = append(w.queues[p], r)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if w.unqueue(r) {
			w.mu.Lock()
			w.stats.Cancelled[p]++
			w.mu.Unlock()
		}
		return ctx.Err()
	}
}

// unqueue removes r from its queue if it is still waiting there.
func (w *Worker) unqueue(r *request) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queues[r.prio]
	for i, x := range q {
		if x == r {
			w.queues[r.prio] = append(q[:i], q[i+1:]...)
			return true
		}
	}
	return false
}

// Client queues requests at one priority. Its methods are the lane
// engine's Analyzer interface.
type Client struct {
	w    *Worker
	prio Priority
}

// Client returns a client queuing at priority p.
func (w *Worker) Client(p Priority) Client { return Client{w: w, prio: p} }

// Analyze runs detect → quality → align on f (validated first) and returns
// its analysis, or ctx.Err() if ctx ended first, or ErrClosed.
func (c Client) Analyze(ctx context.Context, f *frame.Frame) (vision.Analysis, error) {
	if f == nil {
		return vision.Analysis{}, errors.New("analyse: nil frame")
	}
	if err := f.Validate(); err != nil {
		return vision.Analysis{}, fmt.Errorf("analyse: %w", err)
	}
	var an vision.Analysis
	var err error
	if qerr := c.w.do(ctx, c.prio, func() { an, err = c.w.b.AnalyzeFrame(f) }); qerr != nil {
		return vision.Analysis{}, qerr
	}
	return an, err
}

// Embed returns the templates of chips, in order (each validated first),
// or ctx.Err() if ctx ended first, or ErrClosed.
func (c Client) Embed(ctx context.Context, chips []vision.Chip) ([]vision.Embedding, error) {
	for i, ch := range chips {
		if err := ch.Validate(); err != nil {
			return nil, fmt.Errorf("embed chip %d of %d: %w", i+1, len(chips), err)
		}
	}
	if len(chips) == 0 {
		return nil, nil
	}
	var embs []vision.Embedding
	var err error
	if qerr := c.w.do(ctx, c.prio, func() { embs, err = c.w.b.Embed(chips) }); qerr != nil {
		return nil, qerr
	}
	return embs, err
}

// Start makes a worker over b and runs it on its own goroutine until the
// returned stop is called; stop waits for Run to return and returns its
// error. It is for one-shot commands and tests; the daemon calls Run
// under its errgroup instead.
func Start(b Backend, log *slog.Logger) (w *Worker, stop func() error, err error) {
	if w, err = New(b, log); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	return w, func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}, nil
}
