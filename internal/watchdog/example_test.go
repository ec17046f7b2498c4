package watchdog_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/laned/laned/internal/watchdog"
)

// The daemon arms the watchdog from WATCHDOG_USEC and beats from the lane's
// main loop; Run goes into the daemon's errgroup.
func Example() {
	interval, _, err := watchdog.Interval() // 0 when not armed (not under systemd)
	if err != nil {
		slog.Warn("watchdog", "err", err)
	}
	w, _ := watchdog.New(watchdog.Options{Interval: interval})
	lane := w.Heartbeat("lane")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	go w.Run(ctx)
	w.Ready("lane 3: 2 cameras, gallery g-20261130")
	for ctx.Err() == nil { // the lane loop: one turn per frame or per second idle
		lane.Beat()
		time.Sleep(time.Millisecond)
	}
	w.Stopping("shutting down")
	// Output:
}
