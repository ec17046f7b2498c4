package pull

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
)

func TestSchedulerNext(t *testing.T) {
	s := &Scheduler{Location: time.UTC, Start: 2 * time.Hour, Length: 3 * time.Hour}
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now    time.Time
		offset int64
		want   time.Time
	}{
		{day.Add(time.Hour), 0, day.Add(2 * time.Hour)},
		{day.Add(time.Hour), int64(90 * time.Minute), day.Add(3*time.Hour + 30*time.Minute)},
		{day.Add(3 * time.Hour), int64(30 * time.Minute), day.Add(26*time.Hour + 30*time.Minute)}, // today's point passed
		{day.Add(3 * time.Hour), int64(2 * time.Hour), day.Add(4 * time.Hour)},
		{day.Add(23 * time.Hour), 0, day.Add(26 * time.Hour)},
	} {
		s.Rand = func(n int64) int64 {
			if n != int64(3*time.Hour) {
				t.Fatalf("jitter range %v", time.Duration(n))
			}
			return tc.offset
		}
		if got := s.Next(tc.now); !got.Equal(tc.want) {
			t.Errorf("Next(%v) with offset %v = %v, want %v", tc.now, time.Duration(tc.offset), got, tc.want)
		}
	}
	s.Rand = nil
	for range 100 {
		now := day.Add(time.Hour)
		if got := s.Next(now); got.Before(day.Add(2*time.Hour)) || !got.Before(day.Add(5*time.Hour)) {
			t.Fatalf("random Next %v outside the window", got)
		}
	}
}

func TestSchedulerRunRetriesInWindow(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	fc := clock.NewFake(day.Add(time.Hour))
	runs := make(chan time.Time, 10)
	fail := 2
	s := &Scheduler{Clock: fc, Location: time.UTC, Start: 2 * time.Hour, Length: time.Hour, Retry: 20 * time.Minute,
		Rand: func(int64) int64 { return int64(10 * time.Minute) },
		Job: func(context.Context) error {
			runs <- fc.Now()
			if fail > 0 {
				fail--
				return errors.New("central office down")
			}
			return nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	want := []time.Time{
		day.Add(2*time.Hour + 10*time.Minute),  // the night's run: fails
		day.Add(2*time.Hour + 30*time.Minute),  // retry: fails
		day.Add(2*time.Hour + 50*time.Minute),  // retry (before 03:00): succeeds
		day.Add(26*time.Hour + 10*time.Minute), // next night
	}
	for i, w := range want {
		fc.BlockUntil(1)
		fc.Advance(w.Sub(fc.Now()))
		got := <-runs
		if !got.Equal(w) {
			t.Fatalf("run %d at %v, want %v", i, got, w)
		}
	}
	fc.BlockUntil(1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v on cancel, want nil", err)
	}
}

// TestSchedulerCancelDuringJob: a cancel that lands while the job runs
// (the job sees it and fails) also ends Run with nil.
func TestSchedulerCancelDuringJob(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{Clock: fc, Location: time.UTC, Start: 2 * time.Hour, Length: time.Hour,
		Rand: func(int64) int64 { return 0 },
		Job:  func(ctx context.Context) error { cancel(); <-ctx.Done(); return ctx.Err() }}
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	fc.BlockUntil(1)
	fc.Advance(time.Hour)
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
	if err := (&Scheduler{}).Run(context.Background()); err == nil {
		t.Fatal("Run of an empty schedule: no error")
	}
}

func TestSchedulerNoRetryPastWindow(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	fc := clock.NewFake(day.Add(time.Hour))
	runs := make(chan time.Time, 10)
	s := &Scheduler{Clock: fc, Location: time.UTC, Start: 2 * time.Hour, Length: time.Hour, Retry: 20 * time.Minute,
		Rand: func(int64) int64 { return int64(50 * time.Minute) },
		Job:  func(context.Context) error { runs <- fc.Now(); return errors.New("down") }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	fc.BlockUntil(1)
	fc.Advance(day.Add(2*time.Hour + 50*time.Minute).Sub(fc.Now()))
	<-runs
	fc.BlockUntil(1)
	fc.Advance(day.Add(26*time.Hour + 50*time.Minute).Sub(fc.Now()))
	if got := <-runs; !got.Equal(day.Add(26*time.Hour + 50*time.Minute)) {
		t.Fatalf("second run at %v, want the next night's point", got)
	}
}

// TestClientCloseTwice: the lifecycle contract: Close is idempotent.
func TestClientCloseTwice(t *testing.T) {
	c, err := New(Options{URL: "https://office.example/gallery.bundle", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
