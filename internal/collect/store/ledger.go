package store

import (
	"sort"
	"time"
)

// Gap is a range of sequences [From, To] a lane has not delivered although
// a later sequence arrived.
type Gap struct {
	Site, Lane string
	From, To   uint64
	OpenedAt   time.Time
	// New marks a gap opened by the batch being committed (not stored).
	New bool
}

// Size is the number of missing sequences.
func (g Gap) Size() uint64 { return g.To - g.From + 1 }

// Verdict is what a lane's ledger says about a sequence number.
type Verdict int

const (
	// InOrder: the next sequence, or beyond it (the skipped ones become a gap).
	InOrder Verdict = iota
	// Late: it fills (part of) a gap, or comes before the first sequence seen.
	Late
	// Received: the ledger already has this sequence (from another message
	// id: a reset lane outbox or a forged message, since a message id
	// already stored is a duplicate before the ledger is asked).
	Received
)

// Ledger is one lane's sequence bookkeeping: First..Max received except
// the Gaps. It is pure logic; Commit loads and saves it.
type Ledger struct {
	Site, Lane string
	First, Max uint64 // 0, 0: nothing sequenced yet
	Gaps       []Gap  // sorted by From, disjoint, within [First, Max]
	changed    bool
}

// Apply records seq (seen at now) and says how it arrived.
func (l *Ledger) Apply(seq uint64, now time.Time) Verdict {
	switch {
	case l.Max == 0:
		// A lane's outbox numbers from 1: whatever came before the first
		// sequence the office sees never reached it, and is a gap (also
		// for an office that started after its lanes: those messages
		// were published while nobody subscribed, and are lost).
		if seq > 1 {
			l.Gaps = append(l.Gaps, Gap{Site: l.Site, Lane: l.Lane, From: 1, To: seq - 1, OpenedAt: now, New: true})
		}
		l.First, l.Max, l.changed = 1, seq, true
		return InOrder
	case seq == l.Max+1:
		l.Max, l.changed = seq, true
		return InOrder
	case seq > l.Max:
		l.Gaps = append(l.Gaps, Gap{Site: l.Site, Lane: l.Lane, From: l.Max + 1, To: seq - 1, OpenedAt: now, New: true})
		l.Max, l.changed = seq, true
		return InOrder
	case seq < l.First:
		if seq+1 < l.First {
			l.Gaps = append(l.Gaps, Gap{Site: l.Site, Lane: l.Lane, From: seq + 1, To: l.First - 1, OpenedAt: now, New: true})
			sort.Slice(l.Gaps, func(i, j int) bool { return l.Gaps[i].From < l.Gaps[j].From })
		}
		l.First, l.changed = seq, true
		return Late
	}
	for i, g := range l.Gaps {
		if seq < g.From || seq > g.To {
			continue
		}
		var repl []Gap
		if seq > g.From {
			repl = append(repl, Gap{Site: l.Site, Lane: l.Lane, From: g.From, To: seq - 1, OpenedAt: g.OpenedAt, New: g.New})
		}
		if seq < g.To {
			repl = append(repl, Gap{Site: l.Site, Lane: l.Lane, From: seq + 1, To: g.To, OpenedAt: g.OpenedAt, New: g.New})
		}
		l.Gaps = append(l.Gaps[:i], append(repl, l.Gaps[i+1:]...)...)
		l.changed = true
		return Late
	}
	return Received
}

// Missing is the number of sequences in the open gaps.
func (l *Ledger) Missing() (n uint64) {
	for _, g := range l.Gaps {
		n += g.Size()
	}
	return n
}
