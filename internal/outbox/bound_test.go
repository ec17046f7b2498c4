package outbox

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Each test record is 100 stored bytes: 52 payload + 48 overhead.
const recSize = 100

func payloadOf(size int) []byte { return make([]byte, size-recOverhead-8) }

func TestByteBoundPolicy(t *testing.T) {
	S, E, H := KindSummary, KindEvent, KindHealth
	tests := []struct {
		name      string
		fill      []Kind
		policy    Policy
		add       Kind
		addSize   int
		wantErr   error
		wantGone  []int // indexes into fill (seq-1) dropped to make room
		wantCount func(Stats) bool
		wantLog   string
	}{
		{
			name: "summary drops oldest health first",
			fill: []Kind{S, H, E, H, S, E, H, S, E, S}, add: S, addSize: recSize,
			wantGone:  []int{1},
			wantCount: func(s Stats) bool { return s.Classes[KindHealth].Dropped == 1 && s.Classes[KindSummary].Dropped == 0 },
			wantLog:   "level=WARN msg=\"outbox over its byte bound",
		},
		{
			name: "summary drops events when no health is left",
			fill: []Kind{S, E, S, E, S, S, S, S, S, S}, add: S, addSize: 2 * recSize,
			wantGone:  []int{1, 3},
			wantCount: func(s Stats) bool { return s.Classes[KindEvent].Dropped == 2 },
		},
		{
			name: "health never drops an event or a summary",
			fill: []Kind{S, E, S, E, S, S, S, S, S, S}, add: H, addSize: recSize,
			wantErr:   ErrFull,
			wantCount: func(s Stats) bool { return s.Classes[KindHealth].Refused == 1 && s.Classes[KindEvent].Dropped == 0 },
		},
		{
			name: "health replaces the oldest health",
			fill: []Kind{H, S, H, S, S, S, S, S, S, S}, add: H, addSize: recSize,
			wantGone:  []int{0},
			wantCount: func(s Stats) bool { return s.Classes[KindHealth].Dropped == 1 },
		},
		{
			name: "event drops health then the oldest event",
			fill: []Kind{S, E, H, E, S, S, S, S, S, S}, add: E, addSize: 2 * recSize,
			wantGone:  []int{1, 2},
			wantCount: func(s Stats) bool { return s.Classes[KindHealth].Dropped == 1 && s.Classes[KindEvent].Dropped == 1 },
		},
		{
			name: "event never drops a summary",
			fill: []Kind{S, S, S, S, S, S, S, S, S, S}, add: E, addSize: recSize,
			wantErr:   ErrFull,
			wantCount: func(s Stats) bool { return s.Classes[KindEvent].Refused == 1 },
		},
		{
			name: "only summaries left: refuse-new refuses loudly",
			fill: []Kind{S, S, S, S, S, S, S, S, S, S}, add: S, addSize: recSize,
			wantErr:   ErrFull,
			wantCount: func(s Stats) bool { return s.Classes[KindSummary].Refused == 1 && s.Classes[KindSummary].Dropped == 0 },
			wantLog:   "level=ERROR msg=\"outbox full: refused a new message\"",
		},
		{
			name: "only summaries left: drop-oldest drops loudly",
			fill: []Kind{S, S, S, S, S, S, S, S, S, S}, policy: DropOldest, add: S, addSize: recSize,
			wantGone:  []int{0},
			wantCount: func(s Stats) bool { return s.Classes[KindSummary].Dropped == 1 },
			wantLog:   "level=ERROR msg=\"outbox over its byte bound: dropped the oldest unacknowledged messages\"",
		},
		{
			name: "not enough to drop: refuse and drop nothing",
			fill: []Kind{H, H, S, S, S, S, S, S, S, S}, add: S, addSize: 3 * recSize,
			wantErr:   ErrFull,
			wantCount: func(s Stats) bool { return s.Classes[KindHealth].Dropped == 0 && s.Classes[KindSummary].Refused == 1 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.Limits = Limits{MaxBytes: 10 * recSize, MaxPayload: 1000 - 56, AtBound: tt.policy}
			})
			for _, k := range tt.fill {
				f.enqueue(k, string(payloadOf(recSize)))
			}
			if s := f.ob.Stats(); s.Bytes != 10*recSize {
				t.Fatalf("fill: %d bytes, want %d", s.Bytes, 10*recSize)
			}
			m, err := f.ob.Enqueue(context.Background(), tt.add, payloadOf(tt.addSize))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("enqueue: %v, want %v", err, tt.wantErr)
			}
			var want []uint64
			for i := range tt.fill {
				if !slices.Contains(tt.wantGone, i) {
					want = append(want, uint64(i+1))
				}
			}
			if err == nil {
				want = append(want, m.Seq)
			}
			if got := f.pendingSeqs(); !slices.Equal(got, want) {
				t.Errorf("pending %v, want %v", got, want)
			}
			s := f.ob.Stats()
			if s.Bytes > 10*recSize {
				t.Errorf("over the bound: %d bytes", s.Bytes)
			}
			if !tt.wantCount(s) {
				t.Errorf("counters %+v", s.Classes)
			}
			if !strings.Contains(f.logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, f.logs)
			}
			// Counters survive a restart.
			f.reopen()
			if s2 := f.ob.Stats(); !tt.wantCount(s2) || s2.Bytes != s.Bytes || s2.Count != s.Count {
				t.Errorf("after reopen %+v, before %+v", s2, s)
			}
		})
	}
}

func TestAgeBound(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Limits = Limits{EventMaxAge: time.Hour, HealthMaxAge: 10 * time.Minute}
		o.PruneInterval = time.Minute
	})
	f.enqueue(KindSummary, "s1")
	f.enqueue(KindEvent, "e1")
	f.enqueue(KindHealth, "h1")
	f.clk.Advance(5 * time.Minute)
	f.enqueue(KindHealth, "h2")
	if s := f.ob.Stats(); s.OldestAge != 5*time.Minute || s.Classes[KindHealth].OldestAge != 5*time.Minute {
		t.Fatalf("oldest age %v / %v", s.OldestAge, s.Classes[KindHealth].OldestAge)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.ob.Run(ctx) }()
	f.clk.BlockUntil(1)
	f.clk.Advance(6 * time.Minute) // h1 is 11 min old, h2 6 min
	waitFor(t, func() bool { return f.ob.Stats().Classes[KindHealth].Expired == 1 })
	if got := f.pendingSeqs(); !slices.Equal(got, []uint64{1, 2, 4}) {
		t.Fatalf("after 11 min: %v", got)
	}
	f.clk.Advance(24 * time.Hour)
	waitFor(t, func() bool { return f.ob.Stats().Classes[KindEvent].Expired == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := f.pendingSeqs(); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("after a day only the summary stays: %v", got)
	}
	s := f.ob.Stats()
	if s.Classes[KindHealth].Expired != 2 || s.Classes[KindSummary].Expired != 0 || s.OldestAge != 24*time.Hour+11*time.Minute {
		t.Fatalf("stats %+v", s)
	}
}

// waitFor waits for cond, set by another goroutine, without sleeping.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
	}
}
