package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/laned/laned/internal/console"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/watchdog"
)

// supervisor is the daemon's own loop: it beats the "daemon" heartbeat
// after reading the health tracker and the outbox (a deadlock in either
// stops the beats, then the watchdog pings), keeps the systemd status line
// current and records component level changes as events.
type supervisor struct {
	d    *Daemon
	hb   *watchdog.Heartbeat
	last map[string]health.Level
	line string
}

func (s *supervisor) every() time.Duration {
	if iv := s.d.wdInterval; iv > 0 && iv < superviseEvery {
		return iv
	}
	return superviseEvery
}

func (s *supervisor) Run(ctx context.Context) error {
	t := s.d.clk.NewTicker(s.every())
	defer t.Stop()
	s.turn()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			s.turn()
		}
	}
}

func (s *supervisor) turn() {
	d := s.d
	snap := d.Health.Snapshot()
	ob := d.Outbox.Stats()
	s.hb.Beat()
	if s.last == nil {
		s.last = map[string]health.Level{}
	}
	var bad []string
	for _, c := range snap.Components {
		if prev, ok := s.last[c.Name]; ok && prev != c.Level {
			d.ring.add(console.Event{At: d.clk.Now(), Severity: severity(c.Level), Kind: "health." + c.Name,
				Text: fmt.Sprintf("%s %s → %s %s", c.Name, prev, c.Level, c.Reason)})
		}
		s.last[c.Name] = c.Level
		if c.Level != health.OK {
			bad = append(bad, c.Name+" "+c.Level.String())
		}
	}
	line := fmt.Sprintf("%s; outbox %d queued", snap.Level, ob.Count)
	if len(bad) > 0 {
		line += "; " + strings.Join(bad, ", ")
	}
	if stuck := d.Watchdog.Stuck(); stuck != "" {
		return // the watchdog's own status line says what is stuck
	}
	if line != s.line {
		s.line = line
		d.Watchdog.Status(line)
	}
}

func severity(l health.Level) string {
	switch l {
	case health.OK:
		return "info"
	case health.Degraded:
		return "warning"
	}
	return "error"
}

func (s *supervisor) Close() error { return nil }

// readiness tells systemd READY once the local API answers on its socket
// (the whole graph is running), pings the watchdog while every heartbeat
// beats, and says STOPPING first at shutdown (it is the last part, so it
// is stopped first).
type readiness struct {
	d   *Daemon
	api *localapi.Client
}

// readyWait bounds the wait for the local API at start.
const readyWait = 30 * time.Second

func (r *readiness) Run(ctx context.Context) error {
	d := r.d
	deadline := d.clk.Now().Add(readyWait)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := r.api.Status(cctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if d.clk.Now().After(deadline) {
			return fmt.Errorf("local API not answering %s after start: %w", readyWait, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.clk.After(50 * time.Millisecond):
		}
	}
	if err := d.Watchdog.Ready(fmt.Sprintf("running: site %s lane %s, %d components", d.cfg.Site, d.cfg.Lane, len(d.parts))); err != nil {
		d.log.Warn("systemd notify", "err", err)
	}
	err := d.Watchdog.Run(ctx)
	d.Watchdog.Stopping("stopping")
	return err
}

func (r *readiness) Close() error { return r.d.Watchdog.Close() }
