package replay

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
)

// Sink takes the lane's summaries and stamps each with a message id and a
// sequence number, as the uplink does before it publishes: Emit gets the
// exact MQTT payload. It implements lane.Sink.
type Sink struct {
	// Emit is called once per summary, in commit order, with the stamped
	// payload; an error refuses the summary (the lane retries it).
	Emit func(stamped []byte) error

	mu  sync.Mutex
	seq uint64
}

// Enqueue implements lane.Sink.
func (s *Sink) Enqueue(ctx context.Context, kind outbox.Kind, payload []byte) (outbox.Message, error) {
	if kind != outbox.KindSummary {
		return outbox.Message{}, fmt.Errorf("replay sink: %v payloads are not summaries", kind)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return outbox.Message{}, fmt.Errorf("replay sink: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := summary.Stamp(payload, id.String(), s.seq+1)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("replay sink: %w", err)
	}
	if s.Emit != nil {
		if err := s.Emit(b); err != nil {
			return outbox.Message{}, err
		}
	}
	s.seq++
	return outbox.Message{ID: id.String(), Seq: s.seq, Kind: kind, Payload: b}, nil
}
