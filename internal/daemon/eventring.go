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
	buf   []console.Event // the last len(buf) of total events
	total uint64          // events ever added
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
	r.total++
	close(r.added)
	r.added = make(chan struct{})
	r.mu.Unlock()
}

// since returns the events after the first seen ones (those that are
// still kept), the new count and the channel closed at the next add.
func (r *eventRing) since(seen uint64) ([]console.Event, uint64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.total - uint64(len(r.buf)) // sequence number of buf[0]
	from := 0
	if seen > first {
		from = int(seen - first)
	}
	return append([]console.Event(nil), r.buf[from:]...), r.total, r.added
}

// tail calls fn with the last n events and, with follow, each new one
// until ctx is done.
func (r *eventRing) tail(ctx context.Context, n int, follow bool, fn func(console.Event) error) error {
	r.mu.Lock()
	start := r.total - uint64(min(n, len(r.buf)))
	r.mu.Unlock()
	for seen := start; ; {
		out, total, wait := r.since(seen)
		for _, e := range out {
			if err := fn(e); err != nil {
				return err
			}
		}
		seen = total
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wait:
		}
	}
}
