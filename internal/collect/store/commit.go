package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Message is one validated, sequenced payload (transaction, event, health).
type Message struct {
	ID         string // message_id
	Site, Lane string
	Seq        uint64
	Kind       string
	At         time.Time // completed_at or at
	Payload    []byte
	Occupants  []Occupant // transactions
	// Health only: the lane's own count of messages dropped at its outbox bound.
	OutboxDropped uint64
}

// Occupant is one occupant decision of a transaction.
type Occupant struct {
	Index          int
	Decision       string
	Reason         string
	SubjectID      string
	Score, Quality *float64
}

// Status is a lane's retained online/offline state.
type Status struct {
	Site, Lane string
	State      string
	Since      time.Time
	Version    string
	Reason     string
}

// Refusal is a payload kept in quarantine instead of being stored.
type Refusal struct {
	Topic      string
	Site, Lane string // when the topic names them
	Code       string
	Reason     string
	Size       int       // bytes as received
	Payload    []byte    // possibly clipped
	ReceivedAt time.Time // zero: the batch's
}

// Batch is what one Commit stores in one transaction.
type Batch struct {
	ReceivedAt time.Time
	Messages   []Message
	Statuses   []Status
	Refusals   []Refusal
}

// Result says what Commit did with a batch.
type Result struct {
	Stored, Duplicates, OutOfOrder, Refused, Statuses int
	// Conflicts are messages whose sequence the lane had already delivered
	// under another message id; they were quarantined (code
	// sequence_conflict) and count in Refused too.
	Conflicts int
	// NewGaps are the gaps this batch opened.
	NewGaps []Gap
	// Outcome per message of the batch, in order.
	Outcome []Outcome
}

// Outcome is what became of one message of a batch.
type Outcome int

const (
	OutcomeStored Outcome = iota
	OutcomeDuplicate
	OutcomeConflict
)

// maxSeq is the highest sequence the BIGINT columns hold.
const maxSeq = math.MaxInt64

type laneKey struct{ site, lane string }

type laneRow struct {
	Ledger
	stored, dups, ooo    int64
	lastHealth, dropped  int64
	status, version, rsn string
	statusSince          int64
	dirty                bool
}

// Commit stores b in one transaction. On error nothing of b is stored and
// the caller retries (or lets the broker redeliver).
func (s *DB) Commit(ctx context.Context, b Batch) (Result, error) {
	var res Result
	for i := range b.Messages {
		if b.Messages[i].Seq == 0 || b.Messages[i].Seq > maxSeq {
			return res, fmt.Errorf("store: commit: message %s: sequence %d out of range", b.Messages[i].ID, b.Messages[i].Seq)
		}
	}
	now := us(b.ReceivedAt)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("store: commit: begin: %w", err)
	}
	defer tx.Rollback()

	lanes, err := s.lockLanes(ctx, tx, b, now)
	if err != nil {
		return res, fmt.Errorf("store: commit: lanes: %w", err)
	}
	existing, err := s.existingIDs(ctx, tx, b.Messages)
	if err != nil {
		return res, fmt.Errorf("store: commit: duplicates: %w", err)
	}
	refusals := append([]Refusal(nil), b.Refusals...)
	var fresh []Message
	res.Outcome = make([]Outcome, len(b.Messages))
	for i, m := range b.Messages {
		l := lanes[laneKey{m.Site, m.Lane}]
		l.dirty = true
		if existing[m.ID] {
			l.dups++
			res.Duplicates++
			res.Outcome[i] = OutcomeDuplicate
			continue
		}
		switch l.Apply(m.Seq, b.ReceivedAt) {
		case Received:
			res.Conflicts++
			res.Outcome[i] = OutcomeConflict
			refusals = append(refusals, Refusal{Topic: m.Site + "/" + m.Lane + "/" + m.Kind, Site: m.Site, Lane: m.Lane, Code: "sequence_conflict",
				Reason: fmt.Sprintf("sequence %d of %s/%s was already received under another message_id (lane outbox reset, or a forged message); %s not stored", m.Seq, m.Site, m.Lane, m.ID),
				Size:   len(m.Payload), Payload: m.Payload})
			continue
		case Late:
			l.ooo++
			res.OutOfOrder++
		}
		existing[m.ID] = true // a second copy within the batch is a duplicate
		l.stored++
		if m.Kind == "health" && us(m.At) >= l.lastHealth {
			l.lastHealth, l.dropped = us(m.At), int64(min(m.OutboxDropped, maxSeq))
		}
		fresh = append(fresh, m)
	}
	for _, l := range lanes {
		for _, g := range l.Gaps {
			if g.New {
				res.NewGaps = append(res.NewGaps, g)
			}
		}
	}
	if err := s.insertMessages(ctx, tx, fresh, now); err != nil {
		return res, fmt.Errorf("store: commit: insert: %w", err)
	}
	res.Stored = len(fresh)
	for _, st := range b.Statuses {
		l := lanes[laneKey{st.Site, st.Lane}]
		if since := us(st.Since); since >= l.statusSince {
			l.status, l.statusSince, l.version, l.rsn, l.dirty = st.State, since, st.Version, st.Reason, true
		}
		res.Statuses++
	}
	if err := s.saveLanes(ctx, tx, lanes, now); err != nil {
		return res, fmt.Errorf("store: commit: save lanes: %w", err)
	}
	if err := s.insertRefusals(ctx, tx, refusals, b.ReceivedAt); err != nil {
		return res, fmt.Errorf("store: commit: quarantine: %w", err)
	}
	res.Refused = len(refusals)
	if err := tx.Commit(); err != nil {
		return Result{}, fmt.Errorf("store: commit: %w", err)
	}
	return res, nil
}

// lockLanes creates the lane rows the batch needs and locks and loads
// them (with their gaps) in (site, lane) order.
func (s *DB) lockLanes(ctx context.Context, tx *sql.Tx, b Batch, now int64) (map[laneKey]*laneRow, error) {
	set := map[laneKey]bool{}
	for _, m := range b.Messages {
		set[laneKey{m.Site, m.Lane}] = true
	}
	for _, st := range b.Statuses {
		set[laneKey{st.Site, st.Lane}] = true
	}
	keys := make([]laneKey, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].site != keys[j].site {
			return keys[i].site < keys[j].site
		}
		return keys[i].lane < keys[j].lane
	})
	out := map[laneKey]*laneRow{}
	if len(keys) == 0 {
		return out, nil
	}
	var vals, where []string
	var args, wargs []any
	for _, k := range keys {
		vals = append(vals, "(?, ?, ?, ?)")
		args = append(args, k.site, k.lane, now, now)
		where = append(where, "(site = ? AND lane = ?)")
		wargs = append(wargs, k.site, k.lane)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO lanes (site, lane, first_seen, last_seen) VALUES `+strings.Join(vals, ", ")+` ON CONFLICT DO NOTHING`), args...); err != nil {
		return nil, err
	}
	lock := ""
	if s.engine == Postgres {
		lock = " FOR UPDATE"
	}
	cond := strings.Join(where, " OR ")
	rows, err := tx.QueryContext(ctx, s.q(`SELECT site, lane, first_seq, max_seq, last_health, outbox_dropped, status, status_since, status_version, status_reason FROM lanes WHERE `+cond+` ORDER BY site, lane`+lock), wargs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		l := &laneRow{}
		var first, max int64
		if err := rows.Scan(&l.Site, &l.Lane, &first, &max, &l.lastHealth, &l.dropped, &l.status, &l.statusSince, &l.version, &l.rsn); err != nil {
			rows.Close()
			return nil, err
		}
		l.First, l.Max = uint64(first), uint64(max)
		out[laneKey{l.Site, l.Lane}] = l
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) != len(keys) {
		return nil, fmt.Errorf("locked %d of %d lanes", len(out), len(keys))
	}
	grows, err := tx.QueryContext(ctx, s.q(`SELECT site, lane, from_seq, to_seq, opened_at FROM gaps WHERE `+cond+` ORDER BY site, lane, from_seq`), wargs...)
	if err != nil {
		return nil, err
	}
	defer grows.Close()
	for grows.Next() {
		var g Gap
		var from, to, opened int64
		if err := grows.Scan(&g.Site, &g.Lane, &from, &to, &opened); err != nil {
			return nil, err
		}
		g.From, g.To, g.OpenedAt = uint64(from), uint64(to), fromUS(opened)
		l := out[laneKey{g.Site, g.Lane}]
		l.Gaps = append(l.Gaps, g)
	}
	return out, grows.Err()
}

const chunk = 400

func (s *DB) existingIDs(ctx context.Context, tx *sql.Tx, ms []Message) (map[string]bool, error) {
	out := map[string]bool{}
	for i := 0; i < len(ms); i += chunk {
		part := ms[i:min(i+chunk, len(ms))]
		args := make([]any, len(part))
		for j, m := range part {
			args[j] = m.ID
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT message_id FROM messages WHERE message_id IN (?`+strings.Repeat(", ?", len(part)-1)+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertRows runs INSERT … VALUES (…), (…) in chunks.
func (s *DB) insertRows(ctx context.Context, tx *sql.Tx, head string, cols, n int, row func(i int) []any) error {
	ph := "(?" + strings.Repeat(", ?", cols-1) + ")"
	for i := 0; i < n; i += chunk {
		end := min(i+chunk, n)
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (end-i)*cols)
		for j := i; j < end; j++ {
			if j > i {
				b.WriteString(", ")
			}
			b.WriteString(ph)
			args = append(args, row(j)...)
		}
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) insertMessages(ctx context.Context, tx *sql.Tx, ms []Message, now int64) error {
	if len(ms) == 0 {
		return nil
	}
	if s.engine == Postgres {
		return s.insertMessagesPG(ctx, tx, ms, now)
	}
	err := s.insertRows(ctx, tx, `INSERT INTO messages (message_id, site, lane, sequence, kind, at, received_at, payload) VALUES `, 8, len(ms),
		func(i int) []any {
			m := ms[i]
			return []any{m.ID, m.Site, m.Lane, int64(m.Seq), m.Kind, us(m.At), now, string(m.Payload)}
		})
	if err != nil {
		return err
	}
	type occ struct {
		m *Message
		o Occupant
	}
	var os []occ
	for i := range ms {
		for _, o := range ms[i].Occupants {
			os = append(os, occ{&ms[i], o})
		}
	}
	if len(os) == 0 {
		return nil
	}
	return s.insertRows(ctx, tx, `INSERT INTO occupants (message_id, idx, site, lane, at, decision, reason, subject_id, score, quality) VALUES `, 10, len(os),
		func(i int) []any {
			x := os[i]
			return []any{x.m.ID, x.o.Index, x.m.Site, x.m.Lane, us(x.m.At), x.o.Decision, x.o.Reason, x.o.SubjectID, x.o.Score, x.o.Quality}
		})
}

// insertMessagesPG sends a batch as one array per column (unnest): one
// statement of a few parameters instead of thousands.
func (s *DB) insertMessagesPG(ctx context.Context, tx *sql.Tx, ms []Message, now int64) error {
	n := len(ms)
	ids, sites, lanes, kinds, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seqs, ats := make([]int64, n), make([]int64, n)
	var oid, osite, olane, odec, orsn, osub []string
	var oidx []int32
	var oat []int64
	var oscore, oqual []*float64
	for i, m := range ms {
		ids[i], sites[i], lanes[i], kinds[i], payloads[i] = m.ID, m.Site, m.Lane, m.Kind, string(m.Payload)
		seqs[i], ats[i] = int64(m.Seq), us(m.At)
		for _, o := range m.Occupants {
			oid, osite, olane, odec, orsn, osub = append(oid, m.ID), append(osite, m.Site), append(olane, m.Lane), append(odec, o.Decision), append(orsn, o.Reason), append(osub, o.SubjectID)
			oidx, oat, oscore, oqual = append(oidx, int32(o.Index)), append(oat, us(m.At)), append(oscore, o.Score), append(oqual, o.Quality)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (message_id, site, lane, sequence, kind, at, received_at, payload)
		SELECT id, site, lane, seq, kind, at, $8, payload FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[])
		AS t(id, site, lane, seq, kind, at, payload)`, ids, sites, lanes, seqs, kinds, ats, payloads, now); err != nil {
		return err
	}
	if len(oid) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO occupants (message_id, idx, site, lane, at, decision, reason, subject_id, score, quality)
		SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::float8[])`,
		oid, oidx, osite, olane, oat, odec, orsn, osub, oscore, oqual)
	return err
}

func (s *DB) saveLanes(ctx context.Context, tx *sql.Tx, lanes map[laneKey]*laneRow, now int64) error {
	for _, l := range lanes {
		if !l.dirty {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE lanes SET first_seq = ?, max_seq = ?, stored = stored + ?, duplicates = duplicates + ?, out_of_order = out_of_order + ?,
			last_seen = ?, last_health = ?, outbox_dropped = ?, status = ?, status_since = ?, status_version = ?, status_reason = ? WHERE site = ? AND lane = ?`),
			int64(l.First), int64(l.Max), l.stored, l.dups, l.ooo, now, l.lastHealth, l.dropped, l.status, l.statusSince, l.version, l.rsn, l.Site, l.Lane); err != nil {
			return err
		}
		if !l.changed {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM gaps WHERE site = ? AND lane = ?`), l.Site, l.Lane); err != nil {
			return err
		}
		if len(l.Gaps) == 0 {
			continue
		}
		if err := s.insertRows(ctx, tx, `INSERT INTO gaps (site, lane, from_seq, to_seq, opened_at) VALUES `, 5, len(l.Gaps), func(i int) []any {
			g := l.Gaps[i]
			return []any{l.Site, l.Lane, int64(g.From), int64(g.To), us(g.OpenedAt)}
		}); err != nil {
			return err
		}
	}
	return nil
}

// MaxQuarantinePayload is how much of a refused payload is kept.
const MaxQuarantinePayload = 64 << 10

func (s *DB) insertRefusals(ctx context.Context, tx *sql.Tx, rs []Refusal, at time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	return s.insertRows(ctx, tx, `INSERT INTO quarantine (id, received_at, topic, site, lane, code, reason, size, payload) VALUES `, 9, len(rs), func(i int) []any {
		r := rs[i]
		when := r.ReceivedAt
		if when.IsZero() {
			when = at
		}
		p := r.Payload
		if len(p) > MaxQuarantinePayload {
			p = p[:MaxQuarantinePayload]
		}
		if p == nil {
			p = []byte{}
		}
		return []any{uuid.NewString(), us(when), clipText(r.Topic, 512), clipText(r.Site, 64), clipText(r.Lane, 64), r.Code, clipText(r.Reason, 2048), r.Size, p}
	})
}

// clipText keeps text valid UTF-8 without NUL (PostgreSQL refuses both).
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// IsRetryable reports whether a Commit error is worth retrying as is
// (every error is: nothing was stored; this separates a closed store).
func IsRetryable(err error) bool { return err != nil && !errors.Is(err, sql.ErrConnDone) }
