package daemon_test

import (
	"context"
	"errors"
	"time"

	"github.com/laned/laned/internal/check"
	"github.com/laned/laned/internal/daemon"
	"github.com/laned/laned/internal/watchdog"
)

// laneEngine stands for the lane: one loop that beats its heartbeat on
// every turn.
type laneEngine struct{ hb *watchdog.Heartbeat }

func (l *laneEngine) Run(ctx context.Context) error {
	t := time.NewTicker(40 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			l.hb.Beat() // a turn of the lane loop: frames read, sensors polled
		}
	}
}

func (l *laneEngine) Close() error { return nil }

// An Extra builder plugs the lane into the daemon's watchdog, console and
// laned check: its heartbeat (a hung loop stops the sd_notify pings and
// systemd restarts laned), its cameras and sensors for the console
// (Graph.Routes.SetLane with a localapi.Lane), and its rows of the
// commissioning table.
func ExampleDeps_extra() {
	lane := func(g *daemon.Graph) (daemon.Component, error) {
		l := &laneEngine{hb: g.Watchdog.Heartbeat("lane")}
		// g.Routes.SetLane(l) once l implements localapi.Lane.
		g.Checks.Add(check.Check{Name: "lane loop", Run: func(context.Context) (string, error) {
			if s := g.Watchdog.Stuck(); s != "" {
				return "", errors.New("stuck: " + s)
			}
			return "turning", nil
		}})
		return l, nil
	}
	_ = daemon.Deps{Extra: []func(*daemon.Graph) (daemon.Component, error){lane}}
}
