package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// LaneStats is one lane's row of the loss report.
type LaneStats struct {
	Site, Lane                string
	Registered                bool
	FirstSeq, MaxSeq          uint64
	Stored, Duplicates        int64
	OutOfOrder                int64
	Refused                   int64 // quarantined payloads naming this lane
	FirstSeen, LastSeen       time.Time
	LastHealth                time.Time
	OutboxDropped             int64
	Status                    string
	StatusSince               time.Time
	StatusVersion, StatusNote string
	OpenGaps                  int
	Missing                   uint64 // sequences in open gaps
	// Offline: the lane's status says offline. Silent: no health report
	// (nor any message) for longer than the report's silent threshold.
	Offline, Silent bool
}

// Report is the loss report: open gaps (Overdue: older than the grace
// period) and every lane with its counters.
type Report struct {
	At      time.Time
	Grace   time.Duration
	Silent  time.Duration
	Gaps    []ReportGap
	Lanes   []LaneStats
	Overdue int // gaps open longer than Grace
}

// ReportGap is an open gap with its age.
type ReportGap struct {
	Gap
	Age     time.Duration
	Overdue bool
}

// Report builds the loss report at now.
func (s *DB) Report(ctx context.Context, now time.Time, grace, silent time.Duration) (Report, error) {
	r := Report{At: now, Grace: grace, Silent: silent}
	rows, err := s.db.QueryContext(ctx, `SELECT site, lane, from_seq, to_seq, opened_at FROM gaps ORDER BY site, lane, from_seq`)
	if err != nil {
		return r, fmt.Errorf("store: report gaps: %w", err)
	}
	perLane := map[laneKey][2]uint64{}
	for rows.Next() {
		var g ReportGap
		var from, to, opened int64
		if err := rows.Scan(&g.Site, &g.Lane, &from, &to, &opened); err != nil {
			rows.Close()
			return r, fmt.Errorf("store: report gaps: %w", err)
		}
		g.From, g.To, g.OpenedAt = uint64(from), uint64(to), fromUS(opened)
		g.Age = now.Sub(g.OpenedAt)
		g.Overdue = g.Age > grace
		if g.Overdue {
			r.Overdue++
		}
		k := laneKey{g.Site, g.Lane}
		c := perLane[k]
		c[0]++
		c[1] += g.Size()
		perLane[k] = c
		r.Gaps = append(r.Gaps, g)
	}
	if err := rows.Close(); err != nil {
		return r, fmt.Errorf("store: report gaps: %w", err)
	}
	refused := map[laneKey]int64{}
	qrows, err := s.db.QueryContext(ctx, `SELECT site, lane, COUNT(*) FROM quarantine WHERE site <> '' GROUP BY site, lane`)
	if err != nil {
		return r, fmt.Errorf("store: report quarantine: %w", err)
	}
	for qrows.Next() {
		var k laneKey
		var n int64
		if err := qrows.Scan(&k.site, &k.lane, &n); err != nil {
			qrows.Close()
			return r, err
		}
		refused[k] = n
	}
	qrows.Close()
	lrows, err := s.db.QueryContext(ctx, `SELECT site, lane, registered, first_seq, max_seq, stored, duplicates, out_of_order, first_seen, last_seen,
		last_health, outbox_dropped, status, status_since, status_version, status_reason FROM lanes ORDER BY site, lane`)
	if err != nil {
		return r, fmt.Errorf("store: report lanes: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var l LaneStats
		var reg int
		var first, max, fs, ls, lh, since int64
		if err := lrows.Scan(&l.Site, &l.Lane, &reg, &first, &max, &l.Stored, &l.Duplicates, &l.OutOfOrder, &fs, &ls, &lh, &l.OutboxDropped,
			&l.Status, &since, &l.StatusVersion, &l.StatusNote); err != nil {
			return r, fmt.Errorf("store: report lanes: %w", err)
		}
		l.Registered, l.FirstSeq, l.MaxSeq = reg != 0, uint64(first), uint64(max)
		l.FirstSeen, l.LastSeen, l.LastHealth, l.StatusSince = fromUS(fs), fromUS(ls), fromUS(lh), fromUS(since)
		k := laneKey{l.Site, l.Lane}
		l.OpenGaps, l.Missing = int(perLane[k][0]), perLane[k][1]
		l.Refused = refused[k]
		l.Offline = l.Status == "offline"
		last := l.LastHealth
		if last.IsZero() {
			last = l.LastSeen
		}
		l.Silent = last.IsZero() || now.Sub(last) > silent
		r.Lanes = append(r.Lanes, l)
	}
	return r, lrows.Err()
}

// Register marks lanes as expected (the collector's --lanes list), so a
// lane that never sent anything is listed as silent.
func (s *DB) Register(ctx context.Context, lanes [][2]string) error {
	for _, l := range lanes {
		if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO lanes (site, lane, registered) VALUES (?, ?, 1) ON CONFLICT (site, lane) DO UPDATE SET registered = 1`), l[0], l[1]); err != nil {
			return fmt.Errorf("store: register %s/%s: %w", l[0], l[1], err)
		}
	}
	return nil
}

// Filter selects transactions for Query. Zero fields match everything.
type Filter struct {
	Site, Lane string
	From, To   time.Time // completed_at in [From, To)
	Decision   string    // an occupant with this decision
	SubjectID  string    // an occupant matched to this subject
	Limit      int       // default 100
}

// Row is one stored transaction.
type Row struct {
	MessageID  string
	Site, Lane string
	Seq        uint64
	At         time.Time
	ReceivedAt time.Time
	Payload    []byte
}

// Query returns transactions matching f, newest first.
func (s *DB) Query(ctx context.Context, f Filter) ([]Row, error) {
	where := []string{"m.kind = 'transaction'"}
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Site != "" {
		add("m.site = ?", f.Site)
	}
	if f.Lane != "" {
		add("m.lane = ?", f.Lane)
	}
	if !f.From.IsZero() {
		add("m.at >= ?", us(f.From))
	}
	if !f.To.IsZero() {
		add("m.at < ?", us(f.To))
	}
	if f.Decision != "" || f.SubjectID != "" {
		var oc []string
		if f.Decision != "" {
			oc = append(oc, "o.decision = ?")
			args = append(args, f.Decision)
		}
		if f.SubjectID != "" {
			oc = append(oc, "o.subject_id = ?")
			args = append(args, f.SubjectID)
		}
		where = append(where, "EXISTS (SELECT 1 FROM occupants o WHERE o.message_id = m.message_id AND "+strings.Join(oc, " AND ")+")")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT m.message_id, m.site, m.lane, m.sequence, m.at, m.received_at, m.payload FROM messages m WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY m.at DESC, m.site, m.lane, m.sequence DESC LIMIT %d`, limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: query: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var seq, at, rec int64
		var p string
		if err := rows.Scan(&r.MessageID, &r.Site, &r.Lane, &seq, &at, &rec, &p); err != nil {
			return nil, fmt.Errorf("store: query: %w", err)
		}
		r.Seq, r.At, r.ReceivedAt, r.Payload = uint64(seq), fromUS(at), fromUS(rec), []byte(p)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Quarantined returns the newest refused payloads.
func (s *DB) Quarantined(ctx context.Context, limit int) ([]Refusal, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT received_at, topic, site, lane, code, reason, size, payload FROM quarantine ORDER BY received_at DESC LIMIT %d`, limit))
	if err != nil {
		return nil, fmt.Errorf("store: quarantine: %w", err)
	}
	defer rows.Close()
	var out []Refusal
	for rows.Next() {
		var r Refusal
		var at int64
		if err := rows.Scan(&at, &r.Topic, &r.Site, &r.Lane, &r.Code, &r.Reason, &r.Size, &r.Payload); err != nil {
			return nil, fmt.Errorf("store: quarantine: %w", err)
		}
		r.ReceivedAt = fromUS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Counts returns how many messages of each kind are stored and how many
// payloads are quarantined (by code).
func (s *DB) Counts(ctx context.Context) (kinds, refused map[string]int64, err error) {
	kinds, refused = map[string]int64{}, map[string]int64{}
	for _, q := range []struct {
		sql string
		m   map[string]int64
	}{{`SELECT kind, COUNT(*) FROM messages GROUP BY kind`, kinds}, {`SELECT code, COUNT(*) FROM quarantine GROUP BY code`, refused}} {
		rows, err := s.db.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, nil, fmt.Errorf("store: counts: %w", err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, nil, err
			}
			q.m[k] = n
		}
		rows.Close()
	}
	return kinds, refused, nil
}

// IDs returns every stored message id with its lane and sequence.
func (s *DB) IDs(ctx context.Context) (map[string]Row, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT message_id, site, lane, sequence FROM messages`)
	if err != nil {
		return nil, fmt.Errorf("store: ids: %w", err)
	}
	defer rows.Close()
	out := map[string]Row{}
	for rows.Next() {
		var r Row
		var seq int64
		if err := rows.Scan(&r.MessageID, &r.Site, &r.Lane, &seq); err != nil {
			return nil, err
		}
		r.Seq = uint64(seq)
		out[r.MessageID] = r
	}
	return out, rows.Err()
}

// Retention is the office's policy: how long each kind is kept (by its own
// time: completed_at or at). Zero keeps forever.
type Retention struct {
	Transactions, Events, Health, Quarantine time.Duration
}

// DefaultRetention is 30 days for summaries (transactions and events) and
// quarantined payloads, 7 days for health.
var DefaultRetention = Retention{Transactions: 30 * 24 * time.Hour, Events: 30 * 24 * time.Hour, Health: 7 * 24 * time.Hour, Quarantine: 30 * 24 * time.Hour}

// Deletion is one retention deletion, as logged in retention_log.
type Deletion struct {
	Kind    string
	Cutoff  time.Time
	Deleted int64
}

// Retain deletes what the policy no longer keeps, at now, and records each
// deletion in retention_log.
func (s *DB) Retain(ctx context.Context, now time.Time, p Retention) ([]Deletion, error) {
	var out []Deletion
	for _, k := range []struct {
		kind string
		age  time.Duration
	}{{"transaction", p.Transactions}, {"event", p.Events}, {"health", p.Health}, {"quarantine", p.Quarantine}} {
		if k.age <= 0 {
			continue
		}
		cutoff := now.Add(-k.age)
		d := Deletion{Kind: k.kind, Cutoff: cutoff}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var res sql.Result
			var err error
			switch k.kind {
			case "quarantine":
				res, err = tx.ExecContext(ctx, s.q(`DELETE FROM quarantine WHERE received_at < ?`), us(cutoff))
			case "transaction":
				// Through the messages' (kind, at) index and the
				// occupants' key: no index on occupants.at to maintain.
				if _, err = tx.ExecContext(ctx, s.q(`DELETE FROM occupants WHERE message_id IN (SELECT message_id FROM messages WHERE kind = 'transaction' AND at < ?)`), us(cutoff)); err != nil {
					return err
				}
				fallthrough
			default:
				res, err = tx.ExecContext(ctx, s.q(`DELETE FROM messages WHERE kind = ? AND at < ?`), k.kind, us(cutoff))
			}
			if err != nil {
				return err
			}
			if d.Deleted, err = res.RowsAffected(); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO retention_log (id, at, kind, cutoff, deleted) VALUES (?, ?, ?, ?, ?)`),
				uuid.NewString(), us(now), k.kind, us(cutoff), d.Deleted)
			return err
		})
		if err != nil {
			return out, fmt.Errorf("store: retention %s: %w", k.kind, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// RetentionLog returns the recorded deletions, newest first.
func (s *DB) RetentionLog(ctx context.Context, limit int) ([]Deletion, error) {
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT kind, cutoff, deleted FROM retention_log ORDER BY at DESC LIMIT %d`, max(1, limit)))
	if err != nil {
		return nil, fmt.Errorf("store: retention log: %w", err)
	}
	defer rows.Close()
	var out []Deletion
	for rows.Next() {
		var d Deletion
		var c int64
		if err := rows.Scan(&d.Kind, &c, &d.Deleted); err != nil {
			return nil, err
		}
		d.Cutoff = fromUS(c)
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SizeBytes is the database's size on disk (PostgreSQL: the database;
// SQLite: the main file, without its WAL).
func (s *DB) SizeBytes(ctx context.Context) (int64, error) {
	var n int64
	var err error
	if s.engine == Postgres {
		err = s.db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	} else {
		err = s.db.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("store: size: %w", err)
	}
	return n, nil
}
