package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/laned/laned/internal/collect/pgtest"
	"github.com/laned/laned/internal/collect/store"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// engines runs fn against a fresh SQLite file and a fresh PostgreSQL
// database (one server for the whole test).
func engines(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "collect.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := pgtest.Start(t)
		db, err := store.Open(context.Background(), pg.CreateDB(t, "collect"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fn(t, db)
	})
}

func msg(lane string, seq uint64) store.Message {
	id, _ := uuid.NewV7()
	s, q := 0.9, 0.8
	return store.Message{ID: id.String(), Site: "north", Lane: lane, Seq: seq, Kind: "transaction", At: t0.Add(time.Duration(seq) * time.Second),
		Payload:   []byte(fmt.Sprintf(`{"lane":%q,"sequence":%d}`, lane, seq)),
		Occupants: []store.Occupant{{Index: 0, Decision: "match", SubjectID: fmt.Sprintf("S-%d", seq%3), Score: &s, Quality: &q}}}
}

func TestStore(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a1, a2, a3, a5 := msg("L1", 1), msg("L1", 2), msg("L1", 3), msg("L1", 5)
		b1 := msg("L2", 7)
		res, err := db.Commit(ctx, store.Batch{ReceivedAt: t0, Messages: []store.Message{a1, a2, a5, b1, a2},
			Statuses: []store.Status{{Site: "north", Lane: "L1", State: "online", Since: t0, Version: "v1"}},
			Refusals: []store.Refusal{{Topic: "x/y", Code: "malformed", Reason: "not JSON", Size: 3, Payload: []byte{0xff, 0, 'x'}}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stored != 4 || res.Duplicates != 1 || res.Refused != 1 || len(res.NewGaps) != 2 || !hasGap(res.NewGaps, "L1", 3, 4) || !hasGap(res.NewGaps, "L2", 1, 6) {
			t.Fatalf("first batch: %+v", res)
		}
		// A redelivery, the missing one, and the same sequence under another id.
		a4 := msg("L1", 4)
		fake := msg("L1", 2)
		res, err = db.Commit(ctx, store.Batch{ReceivedAt: t0.Add(time.Minute), Messages: []store.Message{a1, a4, fake, a3}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stored != 2 || res.Duplicates != 1 || res.OutOfOrder != 2 || res.Conflicts != 1 || res.Refused != 1 {
			t.Fatalf("second batch: %+v", res)
		}
		rep, err := db.Report(ctx, t0.Add(time.Hour), 10*time.Minute, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// L2's first message was sequence 7: 1..6 never reached the office.
		if len(rep.Gaps) != 1 || rep.Gaps[0].Lane != "L2" || rep.Gaps[0].From != 1 || !rep.Gaps[0].Overdue || len(rep.Lanes) != 2 {
			t.Fatalf("report: %+v", rep)
		}
		l1 := rep.Lanes[0]
		if l1.Lane != "L1" || l1.Stored != 5 || l1.Duplicates != 2 || l1.OutOfOrder != 2 || l1.MaxSeq != 5 || l1.Status != "online" || l1.Refused != 1 || !l1.Silent {
			t.Fatalf("lane L1: %+v", l1)
		}
		rows, err := db.Query(ctx, store.Filter{Site: "north", Lane: "L1", SubjectID: "S-1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Seq != 4 || rows[1].Seq != 1 {
			t.Fatalf("query subject S-1: %+v", rows)
		}
		rows, err = db.Query(ctx, store.Filter{Decision: "match", From: t0.Add(2 * time.Second), To: t0.Add(5 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0].Seq != 4 || rows[2].Seq != 2 {
			t.Fatalf("query by time: %+v", rows)
		}
		q, err := db.Quarantined(ctx, 10)
		if err != nil || len(q) != 2 {
			t.Fatalf("quarantine: %v %+v", err, q)
		}
		codes := q[0].Code + "," + q[1].Code
		if !strings.Contains(codes, "sequence_conflict") || !strings.Contains(codes, "malformed") {
			t.Fatalf("quarantine codes %s", codes)
		}
		// Retention on the injected time: transactions of L1 are at t0+1s..5s, L2 at t0+7s.
		dels, err := db.Retain(ctx, t0.Add(6*time.Second).Add(30*24*time.Hour), store.DefaultRetention)
		if err != nil {
			t.Fatal(err)
		}
		if dels[0].Kind != "transaction" || dels[0].Deleted != 5 {
			t.Fatalf("retention: %+v", dels)
		}
		logged, err := db.RetentionLog(ctx, 10)
		if err != nil || len(logged) != 4 {
			t.Fatalf("retention log: %v %+v", err, logged)
		}
		kinds, _, _ := db.Counts(ctx)
		if kinds["transaction"] != 1 {
			t.Fatalf("after retention: %v", kinds)
		}
		// A replay of a deleted message: its sequence is in the ledger.
		res, err = db.Commit(ctx, store.Batch{ReceivedAt: t0.Add(2 * time.Minute), Messages: []store.Message{a1}})
		if err != nil || res.Stored != 0 || res.Conflicts != 1 {
			t.Fatalf("replay after retention: %v %+v", err, res)
		}
	})
}

func hasGap(gs []store.Gap, lane string, from, to uint64) bool {
	for _, g := range gs {
		if g.Lane == lane && g.From == from && g.To == to {
			return true
		}
	}
	return false
}

func TestReopenMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	for range 2 {
		db, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		db.Close() // idempotent
	}
	ms, err := store.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatal(err, ms)
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		in, engine, err string
	}{
		{"collect.db", "sqlite", ""},
		{"sqlite:/var/lib/laned/collect.db", "sqlite", ""},
		{"sqlite:///var/lib/x.db", "sqlite", ""},
		{"postgres://u:secret@db:5432/laned", "postgres", ""},
		{"postgresql://u@db/laned?sslmode=require", "postgres", ""},
		{"postgres://collect@pg1,pg2:5433/laned?target_session_attrs=read-write", "postgres", ""},
		{"", "", "empty"},
		{"mysql://x", "", "unknown scheme"},
		{"sqlite:", "", "no file path"},
		{"postgres:///laned", "", "no host"},
		{"a.db?mode=ro", "", "may not contain"},
	} {
		d, err := store.ParseDSN(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || string(d.Engine) != tc.engine {
			t.Errorf("%q: %+v %v", tc.in, d, err)
		}
		if strings.Contains(d.String(), "secret") {
			t.Errorf("%q: String shows the password: %s", tc.in, d)
		}
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"collect.db", "sqlite:x", "postgres://u:p@h:1/d", "postgresql://h/d?x=y", "://", "sqlite://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := store.ParseDSN(s)
		if err != nil {
			return
		}
		switch d.Engine {
		case store.SQLite:
			if d.Path == "" || strings.ContainsAny(d.Path, "?#\x00") {
				t.Fatalf("%q: bad path %q", s, d.Path)
			}
		case store.Postgres:
			if d.Conn == "" {
				t.Fatalf("%q: empty conn", s)
			}
		default:
			t.Fatalf("%q: engine %q", s, d.Engine)
		}
		_ = d.String()
	})
}
