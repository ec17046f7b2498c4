package pull_test

import (
	"context"
	"fmt"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/gallery/pull"
)

func ExampleScheduler_Next() {
	s := &pull.Scheduler{
		Location: time.UTC,
		Start:    2 * time.Hour, // window 02:00–05:00
		Length:   3 * time.Hour,
		Rand:     func(n int64) int64 { return n / 3 }, // normally random: spreads a fleet over the window
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	fmt.Println(s.Next(now).Format(time.RFC3339))
	// Output: 2026-11-26T03:00:00Z
}

func ExampleClient_Sync() {
	c, err := pull.New(pull.Options{URL: "https://office.example/lanes/gallery.bundle", Dir: "/var/lib/laned/gallery-sync"})
	if err != nil {
		panic(err)
	}
	var imp pull.Importer // the gallery store's import, in laned
	sched := &pull.Scheduler{Clock: clock.Real{}, Start: 2 * time.Hour, Length: 3 * time.Hour,
		Job: func(ctx context.Context) error { _, err := c.Sync(ctx, imp); return err }}
	_ = sched // the daemon runs sched.Run(ctx) beside matching
}
