package outbox

import (
	"encoding/binary"
	"time"
)

// ClassStats describes one message class.
type ClassStats struct {
	Count     int           // messages waiting for a PUBACK
	Bytes     int64         // their stored size
	OldestAge time.Duration // age of the oldest one (0 when empty)

	// Persisted in the outbox file, so they survive restarts.
	Enqueued    uint64 // committed
	Dropped     uint64 // deleted unacknowledged to respect MaxBytes
	Expired     uint64 // deleted unacknowledged to respect the age bound
	Refused     uint64 // not stored: over MaxBytes with nothing lower to drop
	Quarantined uint64 // moved to the quarantine

	// Since Open (the failure itself may have prevented persisting them).
	Unstored uint64 // Enqueue failed on a storage error (disk full, I/O)
	Oversize uint64 // refused: payload over MaxPayload
}

// Stats is a snapshot of the outbox for health reports and `laned status`.
type Stats struct {
	Classes   map[Kind]ClassStats
	Count     int           // all classes
	Bytes     int64         // all classes
	OldestAge time.Duration // all classes
	LastSeq   uint64        // last sequence number handed out

	Quarantined       int    // messages in the quarantine now
	QuarantineDropped uint64 // deleted from a full quarantine (persisted)

	StoreErrors uint64 // failed transactions since Open
	Batches     uint64 // committed transactions since Open
	Records     uint64 // enqueued records committed since Open
}

// classState is the in-memory view of one class, kept in step with the file.
type classState struct {
	count  int
	bytes  int64
	oldest time.Time // zero when empty or unknown
	counters
}

// counters are the per-class counters persisted in the meta bucket.
type counters struct {
	enqueued, dropped, expired, refused, quarantined uint64
}

// state is everything a batch may change; a batch works on a copy and the
// copy replaces the outbox's state only when the transaction committed.
type state struct {
	lastSeq   uint64
	class     [nslots]classState
	quarantnd int
	qDropped  uint64
}

const countersLen = 3*5*8 + 8

func (s *state) encodeCounters() []byte {
	b := make([]byte, 0, countersLen)
	for _, k := range allKinds {
		c := s.class[slot(k)].counters
		for _, v := range []uint64{c.enqueued, c.dropped, c.expired, c.refused, c.quarantined} {
			b = binary.BigEndian.AppendUint64(b, v)
		}
	}
	return binary.BigEndian.AppendUint64(b, s.qDropped)
}

// decodeCounters reports false when b is not a counters record.
func (s *state) decodeCounters(b []byte) bool {
	if len(b) != countersLen {
		return false
	}
	next := func() uint64 { v := binary.BigEndian.Uint64(b); b = b[8:]; return v }
	for _, k := range allKinds {
		c := &s.class[slot(k)].counters
		for _, p := range []*uint64{&c.enqueued, &c.dropped, &c.expired, &c.refused, &c.quarantined} {
			*p = next()
		}
	}
	s.qDropped = next()
	return true
}

func (s *state) total() int64 {
	var t int64
	for _, k := range allKinds {
		t += s.class[slot(k)].bytes
	}
	return t
}

// memCounters are counted outside transactions.
type memCounters struct {
	unstored, oversize [nslots]uint64
	storeErrors        uint64
	batches, records   uint64
}

// Stats returns a snapshot. It does not touch the file.
func (o *Outbox) Stats() Stats {
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	s := Stats{
		Classes:           make(map[Kind]ClassStats, len(allKinds)),
		LastSeq:           o.st.lastSeq,
		Quarantined:       o.st.quarantnd,
		QuarantineDropped: o.st.qDropped,
		StoreErrors:       o.mem.storeErrors,
		Batches:           o.mem.batches,
		Records:           o.mem.records,
	}
	for _, k := range allKinds {
		c := o.st.class[slot(k)]
		cs := ClassStats{
			Count:       c.count,
			Bytes:       c.bytes,
			Enqueued:    c.enqueued,
			Dropped:     c.dropped,
			Expired:     c.expired,
			Refused:     c.refused,
			Quarantined: c.quarantined,
			Unstored:    o.mem.unstored[slot(k)],
			Oversize:    o.mem.oversize[slot(k)],
		}
		if c.count > 0 && !c.oldest.IsZero() {
			cs.OldestAge = max(now.Sub(c.oldest), 0)
		}
		s.Classes[k] = cs
		s.Count += cs.Count
		s.Bytes += cs.Bytes
		s.OldestAge = max(s.OldestAge, cs.OldestAge)
	}
	return s
}

// Total sums the classes: counts, bytes and every counter; OldestAge is
// the oldest of all.
func (s Stats) Total() ClassStats {
	var t ClassStats
	for _, c := range s.Classes {
		t.Count += c.Count
		t.Bytes += c.Bytes
		t.OldestAge = max(t.OldestAge, c.OldestAge)
		t.Enqueued += c.Enqueued
		t.Dropped += c.Dropped
		t.Expired += c.Expired
		t.Refused += c.Refused
		t.Quarantined += c.Quarantined
		t.Unstored += c.Unstored
		t.Oversize += c.Oversize
	}
	return t
}
