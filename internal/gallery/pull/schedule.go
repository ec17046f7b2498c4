package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/laned/laned/internal/clock"
)

// Scheduler runs Job once a night at a random point of a window, retrying
// a failed run while the window lasts.
type Scheduler struct {
	Clock    clock.Clock
	Location *time.Location              // of the window; nil: time.Local
	Start    time.Duration               // window start after local midnight, e.g. 2h
	Length   time.Duration               // window length, e.g. 3h; > 0
	Retry    time.Duration               // wait after a failed run; default 15m
	Job      func(context.Context) error // e.g. a Client.Sync plus index swap
	Log      *slog.Logger
	// Rand returns a number in [0, n); nil: math/rand/v2.
	Rand func(n int64) int64
}

func (s *Scheduler) loc() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.Local
}

// window returns the window of the day containing t (or starting after it).
func (s *Scheduler) window(day time.Time) (time.Time, time.Time) {
	y, m, d := day.In(s.loc()).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, s.loc()).Add(s.Start)
	return start, start.Add(s.Length)
}

// Next is the run time after now: a random point of the next window that
// has not yet passed that point.
func (s *Scheduler) Next(now time.Time) time.Time {
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	for day := 0; ; day++ {
		start, _ := s.window(now.AddDate(0, 0, day))
		at := start.Add(time.Duration(rnd(int64(s.Length))))
		if at.After(now) {
			return at
		}
	}
}

// Run waits for each night's run until ctx ends; then it returns nil (the
// lifecycle contract of package internal). A bad schedule is an error at once.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.Clock == nil || s.Job == nil || s.Length <= 0 || s.Start < 0 || s.Start >= 24*time.Hour {
		return errors.New("gallery sync schedule: need a clock, a job, 0 <= start < 24h and a positive window length")
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retry := s.Retry
	if retry <= 0 {
		retry = 15 * time.Minute
	}
	next := s.Next(s.Clock.Now())
	for {
		log.Info("next gallery sync", "at", next.Format(time.RFC3339))
		t := s.Clock.NewTimer(next.Sub(s.Clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
		err := s.Job(ctx)
		now := s.Clock.Now()
		if err == nil {
			log.Info("gallery sync done")
			next = s.Next(now.Add(s.Length)) // not again in this window
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		_, end := s.window(now)
		if start, _ := s.window(now); now.Before(start) {
			end = now // before today's window (a run late from yesterday): no retry
		}
		if now.Add(retry).Before(end) {
			log.Warn("gallery sync failed; retrying in the window", "err", err, "retry_in", retry)
			next = now.Add(retry)
		} else {
			log.Error("gallery sync failed; next window", "err", fmt.Sprint(err))
			next = s.Next(now.Add(s.Length))
		}
	}
}
