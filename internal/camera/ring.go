package camera

import (
	"context"
	"sync"

	"github.com/laned/laned/internal/frame"
)

// ring is a camera's bounded frame queue: the producer takes a slot,
// decodes into it and publishes it; when every slot waits for the
// consumer, the producer takes the oldest waiting one (a drop). Next
// swaps pixel buffers with the consumer's frame, so steady state
// allocates nothing.
type ring struct {
	mu     sync.Mutex
	free   []*frame.Frame
	queue  []*frame.Frame // oldest first; cap = size
	head   int
	n      int
	drops  uint64
	closed bool
	notify chan struct{}
}

func newRing(size int) *ring {
	r := &ring{queue: make([]*frame.Frame, size), notify: make(chan struct{}, 1)}
	for i := 0; i < size+1; i++ { // one slot more: the producer's
		r.free = append(r.free, &frame.Frame{})
	}
	return r
}

// acquire returns a slot for the producer, dropping the oldest waiting
// frame when none is free.
func (r *ring) acquire() *frame.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k := len(r.free); k > 0 {
		f := r.free[k-1]
		r.free = r.free[:k-1]
		return f
	}
	f := r.queue[r.head]
	r.queue[r.head] = nil
	r.head = (r.head + 1) % len(r.queue)
	r.n--
	r.drops++
	return f
}

// discard gives back a slot that was not published (a corrupt frame).
func (r *ring) discard(f *frame.Frame) {
	r.mu.Lock()
	r.free = append(r.free, f)
	r.mu.Unlock()
}

// publish queues f for the consumer.
func (r *ring) publish(f *frame.Frame) {
	r.mu.Lock()
	if r.n == len(r.queue) { // cannot happen with size+1 slots; keep the bound anyway
		old := r.queue[r.head]
		r.head = (r.head + 1) % len(r.queue)
		r.n--
		r.drops++
		r.free = append(r.free, old)
	}
	r.queue[(r.head+r.n)%len(r.queue)] = f
	r.n++
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// close wakes consumers; Next drains what is queued, then ErrEnded.
func (r *ring) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *ring) dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drops
}

// next moves the oldest queued frame into dst.
func (r *ring) next(ctx context.Context, dst *frame.Frame) error {
	for {
		r.mu.Lock()
		if r.n > 0 {
			f := r.queue[r.head]
			r.queue[r.head] = nil
			r.head = (r.head + 1) % len(r.queue)
			r.n--
			pix := dst.Pix
			*dst = *f
			f.Pix = pix[:0]
			r.free = append(r.free, f)
			more := r.n > 0 || r.closed
			r.mu.Unlock()
			if more { // keep the wake-up for the next caller
				select {
				case r.notify <- struct{}{}:
				default:
				}
			}
			return nil
		}
		closed := r.closed
		r.mu.Unlock()
		if closed {
			select {
			case r.notify <- struct{}{}:
			default:
			}
			return ErrEnded
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.notify:
		}
	}
}
