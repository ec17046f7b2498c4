package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/google/uuid"

	"github.com/laned/laned/internal/summary"
)

// Kind is a message class: the payload kind of package summary, so the
// lane enqueues a payload under the kind it carries (one type for both).
// Classes have priorities: when the outbox is over its byte bound, the
// lowest-priority class is dropped first. A status (retained, sent by the
// uplink itself) is not queued.
type Kind = summary.Kind

const (
	// KindSummary is one vehicle transaction summary: the highest priority,
	// never dropped while an event or health message could be dropped instead.
	KindSummary = summary.KindTransaction
	// KindEvent is a fault or audit event.
	KindEvent = summary.KindEvent
	// KindHealth is a periodic health report: the lowest priority, and the
	// first to go, since only the latest one matters.
	KindHealth = summary.KindHealth
)

// nslots sizes the per-class arrays: slot 0 is no class.
const nslots = 4

// slot is k's index in per-class arrays and its byte in stored records
// (1 summary, 2 event, 3 health: the first file format's numbers); 0 for a
// kind the outbox does not queue.
func slot(k Kind) int {
	switch k {
	case KindSummary:
		return 1
	case KindEvent:
		return 2
	case KindHealth:
		return 3
	}
	return 0
}

// kindAt is the kind of a record's kind byte; "" if none.
func kindAt(b byte) Kind {
	if b >= 1 && int(b) < nslots {
		return allKinds[b-1]
	}
	return ""
}

// allKinds lists every queued kind, highest priority first.
var allKinds = [...]Kind{KindSummary, KindEvent, KindHealth}

// Kinds lists every queued kind, highest priority first.
func Kinds() []Kind { return []Kind{KindSummary, KindEvent, KindHealth} }

// dropOrder lists the kinds in the order they are dropped at the bound.
var dropOrder = []Kind{KindHealth, KindEvent, KindSummary}

// Message is one stored message.
type Message struct {
	Seq      uint64    // per-outbox (per-lane) sequence number, never reused
	ID       string    // UUIDv7; consumers drop duplicates by it
	Kind     Kind      // class
	Created  time.Time // when it was enqueued (the outbox clock)
	Attempts uint32    // how many times the broker refused it (Reject)
	Reason   string    // last refusal or quarantine reason, if any
	Payload  []byte
}

// Record layout (all integers big-endian), version 1:
//
//	0      version (1)
//	1      kind
//	2:6    attempts
//	6:14   created, Unix nanoseconds
//	14:30  id (16 bytes, UUID)
//	30:32  reason length r
//	32:36  payload length p
//	36:    reason (r bytes), payload (p bytes)
//	last 4 CRC-32C of everything before it
const (
	recVersion  = 1
	recHeader   = 36
	recTrailer  = 4
	recOverhead = recHeader + recTrailer
	maxReason   = 1<<16 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a stored record that cannot be decoded.
var ErrCorrupt = errors.New("corrupt record")

// encodedSize is the size of m's stored record.
func encodedSize(m *Message) int {
	r := len(m.Reason)
	if r > maxReason {
		r = maxReason
	}
	return recOverhead + r + len(m.Payload)
}

// encodeRecord serialises m (without its seq, which is the key). A reason
// longer than 64 KiB is truncated.
func encodeRecord(m *Message) ([]byte, error) {
	id, err := parseID(m.ID)
	if err != nil {
		return nil, fmt.Errorf("outbox: encode record %d: %w", m.Seq, err)
	}
	reason := m.Reason
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	b := make([]byte, recHeader, encodedSize(m))
	b[0] = recVersion
	b[1] = byte(slot(m.Kind))
	binary.BigEndian.PutUint32(b[2:6], m.Attempts)
	binary.BigEndian.PutUint64(b[6:14], uint64(m.Created.UnixNano()))
	copy(b[14:30], id[:])
	binary.BigEndian.PutUint16(b[30:32], uint16(len(reason)))
	binary.BigEndian.PutUint32(b[32:36], uint32(len(m.Payload)))
	b = append(b, reason...)
	b = append(b, m.Payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func parseID(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("id %q: %w", s, err)
	}
	return id, nil
}

// decodeRecord parses a stored record. The payload is copied, so the result
// stays valid after the bbolt transaction ends. Errors wrap ErrCorrupt and
// name the seq.
func decodeRecord(seq uint64, b []byte) (Message, error) {
	bad := func(format string, a ...any) (Message, error) {
		return Message{}, fmt.Errorf("outbox: record %d: %w: %s", seq, ErrCorrupt, fmt.Sprintf(format, a...))
	}
	if len(b) < recOverhead {
		return bad("%d bytes, shorter than the %d-byte minimum", len(b), recOverhead)
	}
	if b[0] != recVersion {
		return bad("unknown version %d", b[0])
	}
	body, sum := b[:len(b)-recTrailer], binary.BigEndian.Uint32(b[len(b)-recTrailer:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return bad("checksum %08x, want %08x", got, sum)
	}
	k := kindAt(b[1])
	if k == "" {
		return bad("invalid kind %d", b[1])
	}
	r := int(binary.BigEndian.Uint16(b[30:32]))
	p := uint64(binary.BigEndian.Uint32(b[32:36]))
	if uint64(recHeader)+uint64(r)+p != uint64(len(body)) {
		return bad("lengths reason %d + payload %d do not fill %d bytes", r, p, len(body)-recHeader)
	}
	var id uuid.UUID
	copy(id[:], b[14:30])
	m := Message{
		Seq:      seq,
		Kind:     k,
		Attempts: binary.BigEndian.Uint32(b[2:6]),
		Created:  time.Unix(0, int64(binary.BigEndian.Uint64(b[6:14]))).UTC(),
		Reason:   string(body[recHeader : recHeader+r]),
		Payload:  append([]byte(nil), body[recHeader+r:]...),
	}
	if id != uuid.Nil {
		m.ID = id.String()
	}
	return m, nil
}

// key is the bbolt key of seq: big-endian, so iteration order is seq order.
func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// seqOf parses a key.
func seqOf(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}
