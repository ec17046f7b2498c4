package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/laned/laned/internal/check"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/console"
	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/tlsfiles"
	"github.com/laned/laned/internal/watchdog"
)

// wiring is the part of the graph that serves technicians and systemd:
// the console routes of the local API, the console server, the watchdog
// and the commissioning checks. Embedded in Graph, so the lane's Extra
// builders reach it:
//
//	g.Routes.SetLane(lane)                 // cameras, sensors, trigger test
//	hb := g.Watchdog.Heartbeat("lane")     // hb.Beat() on every turn of the loop
//	g.Checks.Add(check.CameraFrames(...))  // laned check rows
type wiring struct {
	Watchdog *watchdog.Watchdog
	Routes   *localapi.Routes
	Checks   *Checks
	Console  *console.Server // nil when neither socket nor serial is configured

	version    string
	modelDir   string
	clk        clock.Clock
	started    time.Time
	wdInterval time.Duration
	ring       *eventRing
}

// Checks are the rows of the daemon's laned check table.
type Checks struct {
	mu sync.Mutex
	cs []check.Check
}

// Add appends checks (the lane adds its cameras and sensors).
func (c *Checks) Add(cs ...check.Check) {
	c.mu.Lock()
	c.cs = append(c.cs, cs...)
	c.mu.Unlock()
}

func (c *Checks) list() []check.Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]check.Check(nil), c.cs...)
}

// superviseEvery bounds the period of the daemon's own loop.
const superviseEvery = 5 * time.Second

// wireEarly builds what the Extra builders use: the watchdog, the console
// routes, the check table.
func (d *Daemon) wireEarly(cfg config.Config, deps Deps, log *slog.Logger) error {
	d.version, d.clk, d.started, d.modelDir = deps.Version, deps.Clock, deps.Clock.Now(), os.Getenv("LANED_MODEL_DIR")
	d.ring = newEventRing(200)
	iv, _, err := watchdog.Interval()
	if err != nil {
		return err
	}
	d.wdInterval = iv
	if d.Watchdog, err = watchdog.New(watchdog.Options{Interval: iv, Clock: deps.Clock, Log: log}); err != nil {
		return err
	}
	d.Routes = d.API.ServeOps(ops{d})
	d.Checks = &Checks{}
	d.Checks.Add(check.Gallery(galleryProbe{d}, cfg.Gallery.MaxAge, deps.Clock.Now))
	std := check.Options{StateDir: cfg.StateDir, OutboxDir: filepath.Dir(cfg.Outbox.Path), MinFree: uint64(cfg.Health.DiskMinFree),
		Watchdog: d.watchdogSource}
	if len(cfg.Uplink.Brokers) > 0 {
		std.Broker = cfg.Uplink.Brokers[0]
		u, _ := url.Parse(std.Broker)
		std.AllowPlain = u != nil && (u.Scheme == "tcp" || u.Scheme == "mqtt")
		if !std.AllowPlain {
			var tc *tls.Config
			t := cfg.Uplink.TLS
			if tc, err = tlsfiles.Client(t.CA, t.Cert, t.Key, t.ServerName); err != nil {
				return fmt.Errorf("uplink.tls: %w", err)
			}
			std.TLS = tc
		}
	}
	d.Checks.Add(check.Standard(std)...)
	return nil
}

// watchdogSource is the "systemd watchdog" row: armed, and no heartbeat
// stale.
func (d *Daemon) watchdogSource(ctx context.Context) (time.Duration, error) {
	dur, err := check.WatchdogFromEnv(ctx)
	if err != nil || dur == 0 {
		return dur, err
	}
	if s := d.Watchdog.Stuck(); s != "" {
		return 0, fmt.Errorf("armed (WatchdogSec=%s) but pings withheld: stuck %s", dur, s)
	}
	return dur, nil
}

type galleryProbe struct{ d *Daemon }

func (g galleryProbe) ProbeGallery(context.Context) (check.GalleryStatus, error) {
	s := g.d.Gallery.Status()
	v := s.Version
	if v == "none" {
		v = ""
	}
	return check.GalleryStatus{Version: v, Built: s.Created, Subjects: s.Subjects}, nil
}

// wireLate adds the console server, the daemon's own loop and, last (so
// that it stops first and says STOPPING), the watchdog.
func (d *Daemon) wireLate(cfg config.Config, deps Deps, log *slog.Logger) error {
	cc := cfg.Console.Options()
	if cc.Socket != "" || cc.Serial.Device != "" {
		users, err := console.LoadUsers(cc.Users)
		if err != nil {
			return err
		}
		audit := console.MultiAuditor{console.SlogAuditor{Log: log.With("component", "console")}, eventAuditor{d}}
		red := console.NewRedactor()
		if cfg.Uplink.Password != "" {
			red.Add(cfg.Uplink.Password)
		}
		backend := localapi.NewClient(cfg.LocalAPI.Socket).Console()
		in, err := console.NewInterpreter(backend, audit, deps.Clock, red)
		if err != nil {
			return err
		}
		if d.Console, err = console.NewServer(cc, console.Deps{Interp: in, Users: users, Audit: audit, Clock: deps.Clock, Log: log}); err != nil {
			return err
		}
		d.parts = append(d.parts, part{"console", d.Console})
	}
	d.parts = append(d.parts, part{"supervisor", &supervisor{d: d, hb: d.Watchdog.Heartbeat("daemon")}},
		part{"watchdog", &readiness{d: d, api: localapi.NewClient(cfg.LocalAPI.Socket)}})
	return nil
}

// eventAuditor sends console audit records as MQTT audit events through
// the outbox, and keeps them for the console's events command.
type eventAuditor struct{ d *Daemon }

func (a eventAuditor) Audit(r console.Record) {
	det := map[string]string{"transport": r.Transport, "role": r.Role.String(), "result": r.Result}
	if r.Command != "" {
		det["command"] = r.Command
	}
	if r.Detail != "" {
		det["detail"] = r.Detail
	}
	if r.Duration > 0 {
		det["duration_ms"] = fmt.Sprint(r.Duration.Milliseconds())
	}
	msg := "console " + r.Action + " " + r.Result
	if r.Command != "" {
		msg = "console " + r.Command + ": " + r.Result
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.d.Events.Audit(ctx, events.Audit{Code: "console." + r.Action, Actor: r.User, Message: msg, Details: det}); err != nil {
		a.d.log.Error("console audit event not queued", "err", err, "user", r.User, "action", r.Action)
	}
	at := r.At
	if at.IsZero() {
		at = a.d.clk.Now()
	}
	a.d.ring.add(console.Event{At: at, Severity: "audit", Kind: "console." + r.Action, Text: r.User + ": " + msg})
}
