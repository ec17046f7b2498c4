package collect

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/summary"
)

// Refusal codes: why a payload went to quarantine instead of the tables.
const (
	CodeOversize     = "oversize"       // larger than Config.MaxPayload
	CodeTopic        = "topic"          // topic not {prefix}/SITE/LANE/LEAF
	CodeMalformed    = "malformed"      // not UTF-8 JSON, or no known kind
	CodeSchema       = "schema"         // fails the JSON Schema or the decoder's checks (incl. unknown schema_version)
	CodeMismatch     = "topic_mismatch" // kind or site/lane of the payload differ from the topic
	CodeUnknownLane  = "unknown_lane"   // not in Config.Lanes
	CodeStale        = "stale"          // older than the retention of its kind: a replay, or a backlog past policy
	CodeSeqConflict  = "sequence_conflict"
	CodeCommitFailed = "store_error" // the database refused this one message (kept, not retried forever)
)

var leafKind = map[string]summary.Kind{"transactions": summary.KindTransaction, "events": summary.KindEvent,
	"health": summary.KindHealth, "status": summary.KindStatus}

// parsed is one received payload, classified.
type parsed struct {
	msg     *store.Message
	status  *store.Status
	refusal *store.Refusal
	kind    summary.Kind
}

// ingester classifies payloads; it holds the configuration it needs.
type ingester struct {
	prefix     string
	maxPayload int
	known      map[LaneID]bool
	retention  store.Retention
}

func newIngester(c Config) *ingester {
	in := &ingester{prefix: c.Prefix, maxPayload: c.MaxPayload, retention: c.Retention}
	if len(c.Lanes) > 0 {
		in.known = map[LaneID]bool{}
		for _, l := range c.Lanes {
			in.known[l] = true
		}
	}
	return in
}

func (in *ingester) refuse(topic string, t Topic, b []byte, code, format string, a ...any) parsed {
	return parsed{refusal: &store.Refusal{Topic: topic, Site: t.Site, Lane: t.Lane, Code: code,
		Reason: fmt.Sprintf(format, a...), Size: len(b), Payload: b}}
}

// parse classifies one payload received at now on topic.
func (in *ingester) parse(topic string, b []byte, now time.Time) parsed {
	t, err := ParseTopic(in.prefix, topic)
	if err != nil {
		return in.refuse(topic, Topic{}, b, CodeTopic, "%v", err)
	}
	if len(b) > in.maxPayload {
		return in.refuse(topic, t, b, CodeOversize, "%d bytes, max %d", len(b), in.maxPayload)
	}
	if !utf8.Valid(b) {
		return in.refuse(topic, t, b, CodeMalformed, "payload is not UTF-8")
	}
	k, err := summary.PeekKind(b)
	if err != nil {
		if errors.Is(err, summary.ErrTooLarge) {
			return in.refuse(topic, t, b, CodeOversize, "%v", err)
		}
		return in.refuse(topic, t, b, CodeMalformed, "%v", err)
	}
	if want := leafKind[t.Leaf]; k != want {
		return in.refuse(topic, t, b, CodeMismatch, "a %s payload on the %s topic", k, t.Leaf)
	}
	// Both checks: the JSON Schema (what the documentation promises) and
	// the Go decoder (unknown fields, cross-field rules the schema states
	// in prose).
	if err := summary.ValidateJSON(b); err != nil {
		return in.refuse(topic, t, b, CodeSchema, "%v", err)
	}
	v, err := summary.Unmarshal(b)
	if err != nil {
		return in.refuse(topic, t, b, CodeSchema, "%v", err)
	}
	var site, lane string
	p := parsed{kind: k}
	switch x := v.(type) {
	case *summary.Status:
		since := now
		if x.Since != nil {
			since = *x.Since
		}
		site, lane = x.Site, x.Lane
		p.status = &store.Status{Site: x.Site, Lane: x.Lane, State: x.State, Since: since, Version: x.Version, Reason: x.Reason}
	case *summary.Transaction:
		site, lane = x.Site, x.Lane
		m := &store.Message{ID: x.MessageID, Site: x.Site, Lane: x.Lane, Seq: x.Sequence, Kind: string(k), At: x.CompletedAt, Payload: b}
		for _, o := range x.Occupants {
			m.Occupants = append(m.Occupants, store.Occupant{Index: o.Index, Decision: string(o.Decision), Reason: string(o.Reason),
				SubjectID: o.SubjectID, Score: o.Score, Quality: o.Quality})
		}
		p.msg = m
	case *summary.Event:
		site, lane = x.Site, x.Lane
		p.msg = &store.Message{ID: x.MessageID, Site: x.Site, Lane: x.Lane, Seq: x.Sequence, Kind: string(k), At: x.At, Payload: b}
	case *summary.Health:
		site, lane = x.Site, x.Lane
		p.msg = &store.Message{ID: x.MessageID, Site: x.Site, Lane: x.Lane, Seq: x.Sequence, Kind: string(k), At: x.At, Payload: b,
			OutboxDropped: x.Outbox.Dropped}
	default:
		return in.refuse(topic, t, b, CodeMalformed, "unexpected payload %T", v)
	}
	if site != t.Site || lane != t.Lane {
		return in.refuse(topic, t, b, CodeMismatch, "payload names %s/%s, topic %s/%s", clip(site), clip(lane), t.Site, t.Lane)
	}
	if in.known != nil && !in.known[LaneID{site, lane}] {
		return in.refuse(topic, t, b, CodeUnknownLane, "lane %s/%s is not in the collector's lane list", site, lane)
	}
	if m := p.msg; m != nil {
		if m.Seq > math.MaxInt64 {
			return in.refuse(topic, t, b, CodeSchema, "sequence %d beyond 2^63-1", m.Seq)
		}
		if age := in.retentionOf(m.Kind); age > 0 && now.Sub(m.At) > age {
			return in.refuse(topic, t, b, CodeStale, "%s at %s is older than its retention (%s): not stored (a replay, or a backlog past policy)",
				m.Kind, m.At.Format(time.RFC3339), age)
		}
	}
	return p
}

func (in *ingester) retentionOf(kind string) time.Duration {
	switch kind {
	case "transaction":
		return in.retention.Transactions
	case "event":
		return in.retention.Events
	case "health":
		return in.retention.Health
	}
	return 0
}
