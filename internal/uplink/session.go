package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
)

// ErrOversize marks a payload over uplink.max_payload; such a message is
// quarantined in the outbox instead of being sent.
var ErrOversize = errors.New("payload over uplink.max_payload")

// stalledError ends a session that lost its connection before any PUBACK
// while head, the oldest message, was in flight: the sign of a broker
// that drops the connection on that message (MQTT 3.1.1 has no other way
// to refuse one, e.g. over its message_size_limit).
type stalledError struct {
	head uint64
	err  error
}

func (e *stalledError) Error() string { return e.err.Error() }
func (e *stalledError) Unwrap() error { return e.err }

// stallsPerReject is how many stalled sessions in a row, on the same head
// message, count as one refusal (outbox Reject); the outbox quarantines
// after its MaxAttempts refusals.
const stallsPerReject = 3

// noteStall tracks stalled sessions and rejects a head message that keeps
// stalling them.
func (p *Publisher) noteStall(err error) {
	var se *stalledError
	if !errors.As(err, &se) {
		p.stallSeq, p.stalls = 0, 0
		return
	}
	if se.head != p.stallSeq {
		p.stallSeq, p.stalls = se.head, 0
	}
	p.stalls++
	if p.stalls < stallsPerReject {
		return
	}
	p.stalls = 0
	reason := fmt.Sprintf("the broker dropped the connection %d times in a row, before any PUBACK, while this was the oldest message in flight (over the broker's message_size_limit?)", stallsPerReject)
	p.log.Error("uplink: broker keeps refusing a message", "seq", se.head, "reason", reason)
	if err := p.ob.Reject(se.head, reason); err != nil && !errors.Is(err, outbox.ErrUnknownSeq) {
		p.log.Warn("uplink reject", "seq", se.head, "err", err)
	}
	p.update(func(s *Status) { s.Refused++ })
}

type result struct {
	seq uint64
	err error
}

// topicOf maps an outbox kind to its topic leaf.
func topicOf(k outbox.Kind) string {
	switch k {
	case outbox.KindSummary:
		return "transactions"
	case outbox.KindEvent:
		return "events"
	case outbox.KindHealth:
		return "health"
	}
	return ""
}

// prepare stamps m's payload with its id and sequence and checks it.
func (p *Publisher) prepare(m outbox.Message) (string, []byte, error) {
	leaf := topicOf(m.Kind)
	if leaf == "" {
		return "", nil, fmt.Errorf("unknown kind %s", m.Kind)
	}
	b, err := summary.Stamp(m.Payload, m.ID, m.Seq)
	if err != nil {
		return "", nil, err
	}
	if len(b) > p.cfg.MaxPayload {
		return "", nil, fmt.Errorf("%w: %d bytes, max %d", ErrOversize, len(b), p.cfg.MaxPayload)
	}
	return p.cfg.topic(leaf), b, nil
}

// session publishes from the outbox over one connection until it is lost
// (returns the reason) or ctx is done (returns nil after a clean
// shutdown). Every message is re-sent from the start of the outbox on each
// session: the outbox keeps it until its PUBACK.
func (p *Publisher) session(ctx context.Context, cl Client, lost <-chan error, since time.Time) error {
	window := p.cfg.InFlight
	results := make(chan result, window)
	inflight := 0
	// PUBACKs are acknowledged to the outbox by a goroutine of their own,
	// batched, so publishing does not wait for the outbox's fsync.
	ackCh := make(chan []uint64, window)
	ackDone := make(chan struct{})
	go p.acker(ackCh, ackDone)
	defer func() { close(ackCh); <-ackDone }()
	var head uint64 // first message published in this session
	progress := false
	var cursor uint64

	// wait collects results; it acks the successes to the outbox in one
	// call (one commit) and reports the first failure.
	collect := func(first result, more bool) error {
		var acks []uint64
		var failed error
		handle := func(r result) {
			inflight--
			if r.err == nil {
				acks = append(acks, r.seq)
				progress = true
				return
			}
			if failed == nil {
				failed = fmt.Errorf("publish seq %d: %w", r.seq, r.err)
			}
			// A token that fails while the connection is up was refused;
			// one that fails because the link went down was not.
			if cl.IsConnectionOpen() {
				if err := p.ob.Reject(r.seq, r.err.Error()); err != nil && !errors.Is(err, outbox.ErrUnknownSeq) {
					p.log.Warn("uplink reject", "seq", r.seq, "err", err)
				}
			}
		}
		handle(first)
		for more {
			select {
			case r := <-results:
				handle(r)
			default:
				more = false
			}
		}
		if len(acks) > 0 {
			ackCh <- acks
		}
		p.update(func(s *Status) { s.InFlight = inflight })
		return failed
	}
	// drain waits (bounded) for every in-flight token after the client was
	// disconnected, which completes them, so late PUBACKs still count.
	drain := func() {
		t := p.clk.NewTimer(5 * time.Second)
		defer t.Stop()
		for inflight > 0 {
			select {
			case r := <-results:
				collect(r, true)
			case <-t.C():
				p.log.Warn("uplink: tokens did not complete after disconnect", "in_flight", inflight)
				return
			}
		}
	}

	online := cl.Publish(p.cfg.topic("status"), 1, true, p.statusPayload("online", "", since))
	select {
	case <-online.Done():
		if err := online.Error(); err != nil {
			cl.Disconnect(0)
			return fmt.Errorf("publish online status: %w", err)
		}
	case err := <-lost:
		cl.Disconnect(0)
		return err
	case <-ctx.Done():
		cl.Disconnect(0)
		return nil
	}

	retry := p.clk.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		for inflight < window {
			msgs, err := p.ob.PendingAfter(cursor, window-inflight)
			if err != nil {
				p.update(func(s *Status) { s.LastError = err.Error() })
				p.log.Error("uplink: read outbox", "err", err)
				retry.Reset(time.Second)
				break
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				cursor = m.Seq
				topic, payload, err := p.prepare(m)
				if err != nil {
					p.quarantine(m, err)
					continue
				}
				if head == 0 {
					head = m.Seq
				}
				tok := cl.Publish(topic, 1, false, payload)
				inflight++
				go func(seq uint64) {
					<-tok.Done()
					results <- result{seq, tok.Error()}
				}(m.Seq)
			}
			p.update(func(s *Status) { s.InFlight = inflight; s.Published += uint64(len(msgs)) })
		}
		select {
		case r := <-results:
			if err := collect(r, true); err != nil {
				cl.Disconnect(0)
				drain()
				return err
			}
		case <-p.ob.Notify():
		case <-retry.C():
		case err := <-lost:
			cl.Disconnect(0)
			stuck := inflight > 0
			drain()
			if err == nil {
				err = errors.New("connection lost")
			}
			if stuck && !progress && head != 0 {
				return &stalledError{head: head, err: err}
			}
			return err
		case <-ctx.Done():
			p.shutdown(cl, results, &inflight, collect)
			return nil
		}
	}
}

// acker acknowledges PUBACKed seqs to the outbox, merging what queued up
// during the previous commit into one Ack (one transaction).
func (p *Publisher) acker(in <-chan []uint64, done chan<- struct{}) {
	defer close(done)
	for batch := range in {
	more:
		for {
			select {
			case b, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, b...)
			default:
				break more
			}
		}
		if err := p.ob.Ack(batch...); err != nil {
			// They stay in the outbox and are re-sent: duplicates, not loss.
			p.log.Warn("uplink ack to outbox failed", "n", len(batch), "err", err)
			continue
		}
		p.update(func(s *Status) { s.Acked += uint64(len(batch)) })
	}
}

func (p *Publisher) quarantine(m outbox.Message, err error) {
	reason := fmt.Sprintf("uplink refused %s seq %d: %v", m.Kind, m.Seq, err)
	p.log.Error("uplink: message quarantined", "seq", m.Seq, "id", m.ID, "kind", m.Kind, "err", err)
	if qerr := p.ob.Quarantine(m.Seq, reason); qerr != nil && !errors.Is(qerr, outbox.ErrUnknownSeq) {
		p.log.Error("uplink: quarantine failed", "seq", m.Seq, "err", qerr)
	}
	p.update(func(s *Status) { s.Quarantined++; s.LastError = reason })
}

// shutdown waits briefly for the PUBACKs in flight, publishes the retained
// offline status and disconnects.
func (p *Publisher) shutdown(cl Client, results chan result, inflight *int, collect func(result, bool) error) {
	t := p.clk.NewTimer(2 * time.Second)
	defer t.Stop()
wait:
	for *inflight > 0 {
		select {
		case r := <-results:
			collect(r, true)
		case <-t.C():
			break wait
		}
	}
	off := cl.Publish(p.cfg.topic("status"), 1, true, p.statusPayload("offline", "shutdown", p.clk.Now()))
	select {
	case <-off.Done():
	case <-t.C():
	}
	cl.Disconnect(250)
	for *inflight > 0 {
		select {
		case r := <-results:
			collect(r, true)
		case <-time.After(time.Second): // tokens are completed by Disconnect; this only bounds a paho bug
			return
		}
	}
}
