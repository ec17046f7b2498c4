package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock is the time source every long-running part of laned is given.
type Clock interface {
	Now() time.Time
	// After behaves like time.After.
	After(d time.Duration) <-chan time.Time
	// NewTimer behaves like time.NewTimer.
	NewTimer(d time.Duration) Timer
	// NewTicker behaves like time.NewTicker.
	NewTicker(d time.Duration) Ticker
}

// Timer is the part of *time.Timer laned uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is the part of *time.Ticker laned uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time                         { return time.Now() }
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (Real) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }
func (Real) NewTicker(d time.Duration) Ticker       { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Fake is a manual clock for tests. Timers and tickers fire only when
// Advance moves the time past their deadline. Channels are buffered (1) and
// a tick is dropped when the previous one was not received, like time.Ticker.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeTimer
	added   chan struct{}
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, added: make(chan struct{}, 1)}
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.add(d, 0)
}

func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return fakeTicker{f.add(d, d)}
}

type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Stop()               { k.t.Stop() }

func (f *Fake) add(d, period time.Duration) *fakeTimer {
	f.mu.Lock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1), when: f.now.Add(d), period: period, active: true}
	f.waiters = append(f.waiters, t)
	f.mu.Unlock()
	select {
	case f.added <- struct{}{}:
	default:
	}
	if d <= 0 && period == 0 {
		f.Advance(0)
	}
	return t
}

// Advance moves the clock forward by d, firing every timer and ticker whose
// deadline is reached, in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	end := f.now.Add(d)
	for {
		sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].when.Before(f.waiters[j].when) })
		if len(f.waiters) == 0 || f.waiters[0].when.After(end) {
			break
		}
		t := f.waiters[0]
		if t.when.After(f.now) {
			f.now = t.when
		}
		select {
		case t.c <- f.now:
		default:
		}
		if t.period > 0 {
			t.when = t.when.Add(t.period)
		} else {
			t.active = false
			f.waiters = f.waiters[1:]
		}
	}
	f.now = end
	f.mu.Unlock()
}

// BlockUntil waits until at least n timers or tickers are pending, so a test
// can Advance only after the code under test has started waiting.
func (f *Fake) BlockUntil(n int) {
	for {
		f.mu.Lock()
		pending := len(f.waiters)
		f.mu.Unlock()
		if pending >= n {
			return
		}
		<-f.added
	}
}

// Pending reports how many timers and tickers are waiting to fire.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time
	when   time.Time
	period time.Duration
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.remove()
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	was := t.active
	t.remove()
	t.when = t.f.now.Add(d)
	t.active = true
	t.f.waiters = append(t.f.waiters, t)
	t.f.mu.Unlock()
	select {
	case t.f.added <- struct{}{}:
	default:
	}
	return was
}

// remove drops t from the waiters; f.mu must be held.
func (t *fakeTimer) remove() {
	t.active = false
	for i, w := range t.f.waiters {
		if w == t {
			t.f.waiters = append(t.f.waiters[:i], t.f.waiters[i+1:]...)
			return
		}
	}
}
