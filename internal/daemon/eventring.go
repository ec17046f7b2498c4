package daemon

import (
	"context"
	"sync"

	"github.com/laned/laned/internal/console"
)

// eventRing keeps the daemon's recent events (console audit, component
// level changes) for the console's events command; the same events go to
// the outbox through package events.
type eventRing struct {
	mu    sync.Mutex
	buf   []console.Event
	max   int
	added chan struct{} // closed and replaced on every add
}

func newEventRing(max int) *eventRing { return &eventRing{max: max, added: make(chan struct{})} }

func (r *eventRing) add(e console.Event) {
	r.mu.Lock()
	r.buf = append(r.buf, e)
	if len(r.buf) > r.max {
		r.buf = append(r.buf[:0], r.buf[len(r.buf)-r.max:]...)
	}
	close(r.added)
	r.added = make(chan struct{})
	r.mu.Unlock()
}

// tail calls fn with the last n events and, with follow, each new one
// until ctx is done.
func (r *eventRing) tail(ctx context.Context, n int, follow bool, fn func(console.Event) error) error {
	r.mu.Lock()
	from := max(len(r.buf)-n, 0)
	out := append([]console.Event(nil), r.buf[from:]...)
	seen := len(r.buf)
	wait := r.added
	r.mu.Unlock()
	for {
		for _, e := range out {
			if err := fn(e); err != nil {
				return err
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wait:
		}
		r.mu.Lock()
		if seen > len(r.buf) { // trimmed: start from what is left
			seen = len(r.buf) - 1
		}
		out = append(out[:0], r.buf[seen:]...)
		seen = len(r.buf)
		wait = r.added
		r.mu.Unlock()
	}
}
