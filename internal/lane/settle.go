package lane

import (
	"context"
	"errors"
	"sync"
)

// settleState lets a driver on a simulated clock (replay, evaluations)
// wait until Run has handled everything handed to it.
type settleState struct {
	mu   sync.Mutex
	gen  uint64        // bumped by Settle
	idle uint64        // the gen Run had seen when it last went idle
	ch   chan struct{} // closed when idle changes
}

func (l *Lane) settleGen() uint64 {
	l.settle.mu.Lock()
	defer l.settle.mu.Unlock()
	return l.settle.gen
}

// settled records that Run found nothing to do after having seen gen.
func (l *Lane) settled(gen uint64) {
	s := &l.settle
	s.mu.Lock()
	if gen > s.idle {
		s.idle = gen
		if s.ch != nil {
			close(s.ch)
			s.ch = nil
		}
	}
	s.mu.Unlock()
}

// ErrStopped is returned by Settle when Run has returned or Close was
// called.
var ErrStopped = errors.New("lane: stopped")

// Settle blocks until Run has handled every frame offered and every signal
// given before the call, and every deadline due at the clock's current
// time, and waits with nothing to do. It is for a driver that advances a
// simulated clock itself (replay of a recording as fast as the pipeline
// allows, evaluations): offer the frames and signals of one instant,
// advance the clock to it, Settle, repeat. A live lane never needs it.
func (l *Lane) Settle(ctx context.Context) error {
	s := &l.settle
	s.mu.Lock()
	s.gen++
	my := s.gen
	s.mu.Unlock()
	select {
	case l.sigNote <- struct{}{}:
	default:
	}
	for {
		s.mu.Lock()
		if s.idle >= my {
			stopped := s.idle == ^uint64(0)
			s.mu.Unlock()
			if stopped {
				return ErrStopped
			}
			return nil
		}
		if s.ch == nil {
			s.ch = make(chan struct{})
		}
		ch := s.ch
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.quit:
			return ErrStopped
		}
	}
}
