package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/laned/laned/internal/summary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/laned/laned/internal/clock"
)

var t0 = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

// logBuf collects log lines so tests can assert that something was logged.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	path string
	clk  *clock.Fake
	logs *logBuf
	opts Options
	ob   *Outbox
	tb   testing.TB
	ctx  context.Context
}

func newFixture(tb testing.TB, mod func(*Options)) *fixture {
	tb.Helper()
	f := &fixture{
		path: filepath.Join(tb.TempDir(), "outbox.db"),
		clk:  clock.NewFake(t0),
		logs: &logBuf{},
		tb:   tb,
		ctx:  context.Background(),
	}
	f.opts = Options{Clock: f.clk, Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	if _, ok := tb.(*testing.B); ok {
		f.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if mod != nil {
		mod(&f.opts)
	}
	f.reopen()
	tb.Cleanup(func() {
		if f.ob != nil {
			f.ob.Close()
		}
	})
	return f
}

func (f *fixture) reopen() {
	f.tb.Helper()
	if f.ob != nil {
		if err := f.ob.Close(); err != nil {
			f.tb.Fatal(err)
		}
	}
	ob, err := Open(f.path, f.opts)
	if err != nil {
		f.tb.Fatal(err)
	}
	f.ob = ob
}

func (f *fixture) enqueue(k Kind, payload string) Message {
	f.tb.Helper()
	m, err := f.ob.Enqueue(f.ctx, k, []byte(payload))
	if err != nil {
		f.tb.Fatalf("enqueue %s %q: %v", k, payload, err)
	}
	return m
}

func (f *fixture) pendingSeqs() []uint64 {
	f.tb.Helper()
	msgs, err := f.ob.Pending(1 << 20)
	if err != nil {
		f.tb.Fatal(err)
	}
	var s []uint64
	for _, m := range msgs {
		s = append(s, m.Seq)
	}
	return s
}

func TestEnqueuePendingAckAcrossReopen(t *testing.T) {
	f := newFixture(t, nil)
	a := f.enqueue(KindSummary, `{"v":1}`)
	b := f.enqueue(KindHealth, `{"h":1}`)
	c := f.enqueue(KindEvent, `{"e":1}`)
	if a.Seq != 1 || b.Seq != 2 || c.Seq != 3 {
		t.Fatalf("seqs %d %d %d, want 1 2 3", a.Seq, b.Seq, c.Seq)
	}
	if a.ID == "" || a.ID == b.ID || !a.Created.Equal(t0) {
		t.Fatalf("bad id or time: %+v %+v", a, b)
	}
	msgs, err := f.ob.Pending(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[0].ID != a.ID || string(msgs[2].Payload) != `{"e":1}` || msgs[1].Kind != KindHealth {
		t.Fatalf("pending = %+v", msgs)
	}
	if err := f.ob.Ack(a.Seq, a.Seq, 999); err != nil { // duplicate and unknown acks are harmless
		t.Fatal(err)
	}
	if got := f.pendingSeqs(); !slices.Equal(got, []uint64{2, 3}) {
		t.Fatalf("after ack pending %v", got)
	}
	f.ob.Ack(2, 3)
	f.reopen()
	if got := f.pendingSeqs(); len(got) != 0 {
		t.Fatalf("after reopen pending %v", got)
	}
	// Seqs are never reused after deletes and restarts.
	if d := f.enqueue(KindSummary, "x"); d.Seq != 4 {
		t.Fatalf("seq after reopen %d, want 4", d.Seq)
	}
	s := f.ob.Stats()
	if s.LastSeq != 4 || s.Count != 1 || s.Classes[KindSummary].Enqueued != 2 || s.Classes[KindHealth].Enqueued != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := f.ob.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestPendingAfterWindow(t *testing.T) {
	f := newFixture(t, nil)
	kinds := []Kind{KindSummary, KindEvent, KindHealth}
	for i := range 10 {
		f.enqueue(kinds[i%3], fmt.Sprint(i))
	}
	tests := []struct {
		after uint64
		max   int
		want  []uint64
	}{
		{0, 3, []uint64{1, 2, 3}},
		{3, 4, []uint64{4, 5, 6, 7}},
		{8, 10, []uint64{9, 10}},
		{10, 10, nil},
		{0, 0, nil},
	}
	for _, tt := range tests {
		msgs, err := f.ob.PendingAfter(tt.after, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, m := range msgs {
			got = append(got, m.Seq)
			if m.Payload[0]-'0' != byte(m.Seq-1) || m.Kind != kinds[(m.Seq-1)%3] {
				t.Errorf("message %d: %+v", m.Seq, m)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("PendingAfter(%d, %d) = %v, want %v", tt.after, tt.max, got, tt.want)
		}
	}
}

func TestNotify(t *testing.T) {
	f := newFixture(t, nil)
	select {
	case <-f.ob.Notify():
		t.Fatal("notified before any enqueue")
	default:
	}
	f.enqueue(KindEvent, "e")
	select {
	case <-f.ob.Notify():
	default:
		t.Fatal("no notification after a committed enqueue")
	}
	f.ob.Ack(1)
	select {
	case <-f.ob.Notify():
		t.Fatal("notified after an ack")
	default:
	}
}

func TestRejectQuarantine(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxAttempts = 3 })
	a := f.enqueue(KindSummary, "a")
	b := f.enqueue(KindEvent, "b")
	for i := range 2 {
		if err := f.ob.Reject(a.Seq, fmt.Sprintf("refused %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := f.ob.Pending(10)
	if len(msgs) != 2 || msgs[0].Attempts != 2 || msgs[0].Reason != "refused 1" {
		t.Fatalf("after 2 rejects: %+v", msgs)
	}
	f.ob.Reject(a.Seq, "refused 2")
	if err := f.ob.Quarantine(b.Seq, "schema"); err != nil {
		t.Fatal(err)
	}
	if got := f.pendingSeqs(); len(got) != 0 {
		t.Fatalf("quarantined still pending: %v", got)
	}
	q, err := f.ob.Quarantined()
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 || q[0].ID != a.ID || q[0].Attempts != 3 || q[0].Reason != "refused 2" || q[1].Reason != "schema" || string(q[1].Payload) != "b" {
		t.Fatalf("quarantine %+v", q)
	}
	if err := f.ob.Reject(a.Seq, "again"); !errors.Is(err, ErrUnknownSeq) {
		t.Fatalf("reject of a quarantined seq: %v", err)
	}
	s := f.ob.Stats()
	if s.Quarantined != 2 || s.Classes[KindSummary].Quarantined != 1 || s.Classes[KindEvent].Quarantined != 1 || s.Count != 0 {
		t.Fatalf("stats %+v", s)
	}
	if !strings.Contains(f.logs.String(), "quarantined") {
		t.Fatal("quarantine not logged")
	}
	f.reopen()
	if s := f.ob.Stats(); s.Quarantined != 2 || s.Classes[KindSummary].Quarantined != 1 {
		t.Fatalf("stats after reopen %+v", s)
	}
}

func TestOpenLocked(t *testing.T) {
	f := newFixture(t, nil)
	start := time.Now()
	_, err := Open(f.path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), f.path) {
		t.Fatalf("second open: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("lock timeout not honoured")
	}
}

func TestCloseIdempotent(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.ob.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.ob.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ob.Enqueue(f.ctx, KindSummary, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
	if _, err := f.ob.Pending(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("pending after close: %v", err)
	}
	f.ob = nil
}

func TestEnqueueBadInput(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Limits.MaxPayload = 100 })
	if _, err := f.ob.Enqueue(f.ctx, summary.KindStatus, nil); err == nil || !strings.Contains(err.Error(), `invalid kind "status"`) {
		t.Fatalf("bad kind: %v", err)
	}
	_, err := f.ob.Enqueue(f.ctx, KindSummary, make([]byte, 101))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "101 bytes") {
		t.Fatalf("oversize: %v", err)
	}
	if s := f.ob.Stats(); s.Classes[KindSummary].Oversize != 1 || s.LastSeq != 0 {
		t.Fatalf("stats %+v", s)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.ob.Enqueue(ctx, KindSummary, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestConcurrentEnqueueGroupsCommits(t *testing.T) {
	f := newFixture(t, nil)
	const workers, each = 16, 50
	var mu sync.Mutex
	var seqs []uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				m, err := f.ob.Enqueue(f.ctx, KindSummary, make([]byte, 1024))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs = append(seqs, m.Seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	if len(slices.Compact(seqs)) != workers*each || seqs[len(seqs)-1] != workers*each {
		t.Fatalf("seqs not unique and dense: %d, last %d", len(seqs), seqs[len(seqs)-1])
	}
	s := f.ob.Stats()
	if s.Records != workers*each || s.Batches >= s.Records {
		t.Fatalf("no group commit: %d records in %d batches", s.Records, s.Batches)
	}
	t.Logf("%d records in %d batches", s.Records, s.Batches)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	future := filepath.Join(dir, "future.db")
	db, err := bbolt.Open(future, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bbolt.Tx) error {
		b, _ := tx.CreateBucket(bucketMeta)
		return b.Put(keyFormat, []byte{9})
	})
	db.Close()
	tests := []struct {
		name string
		path string
		opts Options
		want string
	}{
		{"not bbolt", garbage, Options{}, "outbox: open " + garbage},
		{"newer format", future, Options{}, "unsupported outbox format 09"},
		{"missing dir", filepath.Join(dir, "no", "such", "x.db"), Options{}, "no such file or directory"},
		{"negative limit", filepath.Join(dir, "x.db"), Options{Limits: Limits{MaxBytes: -1}}, "negative limit or option MaxBytes (-1)"},
		{"payload over bound", filepath.Join(dir, "x.db"), Options{Limits: Limits{MaxBytes: 1000, MaxPayload: 2000}}, "does not fit max bytes"},
		{"bad policy", filepath.Join(dir, "x.db"), Options{Limits: Limits{AtBound: 7}}, "unknown bound policy 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			ob, err := Open(tt.path, tt.opts)
			if err == nil {
				ob.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestBatchDelay(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxBatchDelay = 2 * time.Millisecond; o.MaxBatch = 8 })
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() { f.enqueue(KindEvent, "e") })
	}
	wg.Wait()
	s := f.ob.Stats()
	if s.Records != 32 || s.Batches < 4 {
		t.Fatalf("32 records in %d batches of at most 8", s.Batches)
	}
}

// TestDamagedMeta: an unreadable seq counter or counters record does not
// stop the lane: the seq continues past a gap (never reusing one), the
// counters restart, both logged.
func TestDamagedMeta(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		val     []byte
		wantSeq uint64
		wantLog string
	}{
		{"short seq", keySeq, []byte{1, 2, 3}, 3 + seqGap + 1, "outbox seq counter unreadable"},
		{"missing seq", keySeq, nil, 3 + seqGap + 1, "outbox seq counter unreadable"},
		{"seq behind keys", keySeq, key(1), 4, "outbox seq counter behind stored keys"},
		{"counters", keyCounters, []byte("junk"), 4, "outbox counters unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			for range 3 {
				f.enqueue(KindSummary, "s")
			}
			f.ob.Close()
			db, err := bbolt.Open(f.path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bbolt.Tx) error {
				if tt.val == nil {
					return tx.Bucket(bucketMeta).Delete(tt.key)
				}
				return tx.Bucket(bucketMeta).Put(tt.key, tt.val)
			})
			db.Close()
			f.ob = nil
			f.reopen()
			if m := f.enqueue(KindSummary, "next"); m.Seq != tt.wantSeq {
				t.Fatalf("next seq %d, want %d", m.Seq, tt.wantSeq)
			}
			if !strings.Contains(f.logs.String(), tt.wantLog) {
				t.Fatalf("log lacks %q:\n%s", tt.wantLog, f.logs)
			}
			if got := f.pendingSeqs(); len(got) != 4 {
				t.Fatalf("pending %v", got)
			}
			if err := f.ob.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStatsTotal(t *testing.T) {
	s := Stats{Classes: map[Kind]ClassStats{
		KindSummary: {Count: 1, Bytes: 10, OldestAge: time.Minute, Enqueued: 5, Refused: 1, Unstored: 2},
		KindEvent:   {Count: 2, Bytes: 20, OldestAge: time.Hour, Enqueued: 6, Dropped: 3, Quarantined: 1},
		KindHealth:  {Expired: 4, Oversize: 1},
	}}
	want := ClassStats{Count: 3, Bytes: 30, OldestAge: time.Hour, Enqueued: 11, Dropped: 3, Expired: 4,
		Refused: 1, Quarantined: 1, Unstored: 2, Oversize: 1}
	if got := s.Total(); got != want {
		t.Fatalf("total %+v, want %+v", got, want)
	}
}

// TestCloseWhileBusy: Close while producers, an acker and Run are active
// returns, every call ends with a result or ErrClosed, and Run returns.
func TestCloseWhileBusy(t *testing.T) {
	f := newFixture(t, nil)
	runDone := make(chan error, 1)
	go func() { runDone <- f.ob.Run(context.Background()) }()
	var wg sync.WaitGroup
	var ok, closed atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				m, err := f.ob.Enqueue(context.Background(), KindSummary, []byte("x"))
				switch {
				case err == nil:
					ok.Add(1)
					f.ob.Ack(m.Seq)
				case errors.Is(err, ErrClosed):
					closed.Add(1)
					return
				default:
					t.Errorf("enqueue: %v", err)
					return
				}
			}
		})
	}
	waitFor(t, func() bool { return ok.Load() > 100 })
	if err := f.ob.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-runDone; err != nil {
		t.Fatalf("run: %v", err)
	}
	if closed.Load() != 8 {
		t.Fatalf("%d producers saw ErrClosed, want 8", closed.Load())
	}
	f.ob = nil
}
