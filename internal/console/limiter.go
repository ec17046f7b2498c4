package console

import (
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
)

// LoginPolicy is how failed logins are slowed and locked out.
type LoginPolicy struct {
	MaxFailures int           `yaml:"max_failures"` // consecutive failures that lock (default 5)
	BaseDelay   time.Duration `yaml:"base_delay"`   // delay after the first failure, doubling after each (default 1s)
	Lockout     time.Duration `yaml:"lockout"`      // how long a lock lasts (default 15m)
}

func (p LoginPolicy) withDefaults() LoginPolicy {
	if p.MaxFailures <= 0 {
		p.MaxFailures = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.Lockout <= 0 {
		p.Lockout = 15 * time.Minute
	}
	return p
}

// Limiter counts failed logins per key (a user name, a serial port) and
// answers with a growing delay and, after MaxFailures, a lockout. State is
// in memory: a restart (which needs root or power) clears it.
type Limiter struct {
	p   LoginPolicy
	clk clock.Clock

	mu    sync.Mutex
	state map[string]*failures
}

type failures struct {
	n     int
	until time.Time // locked until
}

// NewLimiter returns a limiter with policy p (zero fields take defaults).
func NewLimiter(p LoginPolicy, clk clock.Clock) *Limiter {
	return &Limiter{p: p.withDefaults(), clk: clk, state: map[string]*failures{}}
}

// Locked reports whether any of keys is locked, and for how long still.
func (l *Limiter) Locked(keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clk.Now()
	var left time.Duration
	for _, k := range keys {
		f := l.state[k]
		if f == nil || f.until.IsZero() {
			continue
		}
		if !now.Before(f.until) {
			delete(l.state, k) // lock expired: start counting again
			continue
		}
		left = max(left, f.until.Sub(now))
	}
	return left, left > 0
}

// Fail records a failure on every key and returns the delay before the next
// attempt, the failure count of the worst key, and whether it is now locked.
func (l *Limiter) Fail(keys ...string) (delay time.Duration, count int, locked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clk.Now()
	for _, k := range keys {
		f := l.state[k]
		if f == nil {
			f = &failures{}
			l.state[k] = f
		}
		f.n++
		count = max(count, f.n)
		if f.n >= l.p.MaxFailures {
			f.until = now.Add(l.p.Lockout)
			locked = true
		}
	}
	if locked {
		return l.p.Lockout, count, true
	}
	return l.p.BaseDelay << (count - 1), count, false
}

// Success clears the keys' failures.
func (l *Limiter) Success(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.state, k)
	}
}
