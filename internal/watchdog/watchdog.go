package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/laned/laned/internal/clock"
)

// Notifier sends one sd_notify state ("READY=1", "WATCHDOG=1", …).
type Notifier interface {
	Notify(state string) error
}

// SdNotify sends to $NOTIFY_SOCKET with go-systemd; without the variable
// (not under systemd) it sends nothing and reports no error.
type SdNotify struct{}

// Notify implements Notifier.
func (SdNotify) Notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// Interval returns how often to ping for the service's WatchdogSec, read
// from WATCHDOG_USEC (half of it, as sd_watchdog_enabled(3) advises), and
// false when the watchdog is not armed for this process.
func Interval() (time.Duration, bool, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, false, fmt.Errorf("watchdog: %w", err)
	}
	if d == 0 {
		return 0, false, nil
	}
	return d / 2, true, nil
}

// Options configure a Watchdog.
type Options struct {
	Notifier Notifier    // default SdNotify
	Clock    clock.Clock // default clock.Real
	Log      *slog.Logger
	// Interval between pings; 0 disables pinging (the watchdog is not
	// armed) but READY and STATUS are still sent.
	Interval time.Duration
	// Stale is how long a component may go without a beat before the
	// pings stop (default 2×Interval, at most the watchdog timeout).
	Stale time.Duration
}

// Watchdog pings systemd while every component beats.
type Watchdog struct {
	n        Notifier
	clk      clock.Clock
	log      *slog.Logger
	interval time.Duration
	stale    time.Duration

	mu        sync.Mutex
	beats     map[string]*Heartbeat
	stuck     string // components that stopped, "" when all beat
	closed    bool
	afterTick func() // test hook
}

// New returns a watchdog.
func New(o Options) (*Watchdog, error) {
	if o.Interval < 0 || o.Stale < 0 {
		return nil, errors.New("watchdog: negative interval")
	}
	if o.Notifier == nil {
		o.Notifier = SdNotify{}
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Stale == 0 {
		o.Stale = 2 * o.Interval
	}
	return &Watchdog{n: o.Notifier, clk: o.Clock, log: o.Log.With("component", "watchdog"),
		interval: o.Interval, stale: o.Stale, beats: map[string]*Heartbeat{}}, nil
}

// Heartbeat is one component's liveness: Beat on every turn of its loop.
type Heartbeat struct {
	name string
	clk  clock.Clock
	last atomic.Int64 // unix nanoseconds of the last beat
}

// Beat records progress now.
func (h *Heartbeat) Beat() { h.last.Store(h.clk.Now().UnixNano()) }

func (h *Heartbeat) since(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, h.last.Load()))
}

// Heartbeat registers a component (it counts as beating from now) and
// returns its heartbeat; the same name returns the same heartbeat.
func (w *Watchdog) Heartbeat(name string) *Heartbeat {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h, ok := w.beats[name]; ok {
		return h
	}
	h := &Heartbeat{name: name, clk: w.clk}
	h.Beat()
	w.beats[name] = h
	return h
}

// Ready tells systemd start-up is done, with a status line.
func (w *Watchdog) Ready(status string) error {
	return w.notify("READY=1\nSTATUS=" + oneLine(status))
}

// Status sets the status line systemctl shows.
func (w *Watchdog) Status(status string) error { return w.notify("STATUS=" + oneLine(status)) }

// Stopping tells systemd shutdown has begun.
func (w *Watchdog) Stopping(status string) error {
	return w.notify("STOPPING=1\nSTATUS=" + oneLine(status))
}

func (w *Watchdog) notify(s string) error {
	if err := w.n.Notify(s); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// Run pings every Interval while all heartbeats are fresh, until ctx is
// cancelled. With Interval 0 it only waits.
func (w *Watchdog) Run(ctx context.Context) error {
	if w.interval == 0 {
		<-ctx.Done()
		return nil
	}
	t := w.clk.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			w.tick()
		}
	}
}

// tick pings or, when a component is stale, withholds the ping and says
// why in the status line (systemd will restart the service).
func (w *Watchdog) tick() {
	now := w.clk.Now()
	w.mu.Lock()
	var stale []string
	for name, h := range w.beats {
		if d := h.since(now); d > w.stale {
			stale = append(stale, fmt.Sprintf("%s (no progress for %s)", name, d.Round(time.Second)))
		}
	}
	sort.Strings(stale)
	was := w.stuck
	w.stuck = strings.Join(stale, ", ")
	hook := w.afterTick
	w.mu.Unlock()

	switch {
	case len(stale) == 0:
		if was != "" {
			w.log.Info("all components progress again; watchdog pings resume")
			w.notify("STATUS=running")
		}
		if err := w.notify("WATCHDOG=1"); err != nil {
			w.log.Warn("watchdog ping", "err", err)
		}
	case was == "":
		w.log.Error("component stuck: withholding watchdog pings, systemd will restart laned", "stuck", w.stuck)
		w.notify("STATUS=stuck: " + w.stuck)
	}
	if hook != nil {
		hook()
	}
}

// Stuck returns the stale components, "" when all beat (for health and
// laned check).
func (w *Watchdog) Stuck() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stuck
}

// Close is idempotent; the watchdog holds no resources beyond Run.
func (w *Watchdog) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	return nil
}
