package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/pull"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/uplink"
)

// Component is what the daemon runs: the lifecycle contract of package
// internal.
type Component interface {
	Run(ctx context.Context) error
	Close() error
}

// Graph is what New built, for the components added by other packages
// (the lane engine needs the gallery, the outbox, health and events).
type Graph struct {
	Outbox  *outbox.Outbox
	Uplink  *uplink.Publisher
	Events  *events.Emitter
	Health  *health.Tracker
	Store   *store.Store
	Gallery *active.Gallery
	API     *localapi.Server
}

// Deps are what New needs besides the configuration.
type Deps struct {
	// ModelID and Dim identify the recogniser whose templates the gallery
	// must hold (package vision's pipeline.ModelID and Dim). Required.
	ModelID string
	Dim     int
	Version string       // laned's version; default "dev"
	Clock   clock.Clock  // default clock.Real
	Log     *slog.Logger // default slog.Default
	// NewMQTTClient makes the uplink's MQTT client; default paho's.
	NewMQTTClient func(*mqtt.ClientOptions) uplink.Client
	// GalleryKey overrides the configured at-rest key (tests).
	GalleryKey *store.Key
	// Extra builds components from the graph (the lane engine, cameras,
	// sensors, metrics); they run after and stop before the core ones.
	Extra []func(*Graph) (Component, error)
}

type part struct {
	name string
	c    Component
}

// Daemon is the running lane.
type Daemon struct {
	Graph
	cfg   config.Config
	log   *slog.Logger
	parts []part // in construction order
	store *store.Store
	pull  *pull.Client
}

// New builds the graph from cfg (after WithDefaults and Validate, as
// config.Load returns it). On error everything opened so far is closed.
func New(cfg config.Config, deps Deps) (_ *Daemon, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.ModelID == "" || deps.Dim <= 0 {
		return nil, errors.New("daemon: the recogniser's model id and dimension are required")
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Version == "" {
		deps.Version = "dev"
	}
	log := deps.Log.With("site", cfg.Site, "lane", cfg.Lane)
	d := &Daemon{cfg: cfg, log: log.With("component", "daemon")}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	add := func(name string, c Component) { d.parts = append(d.parts, part{name, c}) }

	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("daemon: state directory: %w", err)
	}
	oo := cfg.Outbox.Options()
	oo.Clock, oo.Logger = deps.Clock, log
	if d.Outbox, err = outbox.Open(cfg.Outbox.Path, oo); err != nil {
		return nil, err
	}
	add("outbox", d.Outbox)

	if d.Uplink, err = uplink.New(uplink.Options{Config: cfg.Uplink, Outbox: d.Outbox, Version: deps.Version,
		Clock: deps.Clock, Logger: log, NewClient: deps.NewMQTTClient}); err != nil {
		return nil, err
	}
	add("uplink", d.Uplink)

	ev := cfg.Events
	if d.Events, err = events.New(events.Options{Site: cfg.Site, Lane: cfg.Lane, Outbox: d.Outbox, FlapWindow: ev.FlapWindow,
		Burst: ev.Burst, Refill: ev.Refill, Clock: deps.Clock, Log: log}); err != nil {
		return nil, err
	}
	add("events", d.Events)

	h := cfg.Health
	if d.Health, err = health.New(health.Options{Site: cfg.Site, Lane: cfg.Lane, Version: deps.Version, Outbox: d.Outbox,
		Uplink: d.Uplink, Events: d.Events, Interval: h.Interval, DiskPath: cfg.StateDir, DiskMinFree: uint64(h.DiskMinFree),
		ThermalPath: h.ThermalPath(), TempMax: h.TempMax, UplinkGrace: h.UplinkGrace, Clock: deps.Clock, Log: log}); err != nil {
		return nil, err
	}
	add("health", d.Health)

	if err := d.openGallery(cfg, deps, log); err != nil {
		return nil, err
	}

	if d.API, err = localapi.New(localapi.Options{Socket: cfg.LocalAPI.Socket, Group: cfg.LocalAPI.Group, Version: deps.Version,
		Gallery: d.Gallery, Outbox: d.Outbox, Health: d.Health, Log: log}); err != nil {
		return nil, err
	}
	add("localapi", d.API)

	for i, mk := range deps.Extra {
		c, err := mk(&d.Graph)
		if err != nil {
			return nil, fmt.Errorf("daemon: extra component %d: %w", i, err)
		}
		add(fmt.Sprintf("extra-%d", i), c)
	}
	return d, nil
}

func (d *Daemon) openGallery(cfg config.Config, deps Deps, log *slog.Logger) error {
	g := cfg.Gallery
	key := deps.GalleryKey
	if key == nil {
		p, err := g.Key.Path()
		if err != nil {
			return fmt.Errorf("gallery.key: %w", err)
		}
		if key, err = store.LoadKeyFile(p); err != nil {
			return fmt.Errorf("gallery.key: %w", err)
		}
	}
	keys, err := bundle.LoadKeyRing(g.Trust...)
	if err != nil {
		return fmt.Errorf("gallery.trust: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(g.DB), 0o700); err != nil {
		return fmt.Errorf("gallery.db: %w", err)
	}
	if d.store, err = store.Open(g.DB, store.Options{Key: key, MaxAge: g.MaxAge, Log: log.With("component", "gallery-store")}); err != nil {
		return err
	}
	d.Store = d.store
	var puller active.Puller
	if g.Sync.URL != "" {
		c, err := pull.New(pull.Options{URL: g.Sync.URL, Dir: g.Sync.State, CAFile: g.Sync.CA, CertFile: g.Sync.Cert, KeyFile: g.Sync.Key,
			ConnectTimeout: g.Sync.ConnectTimeout, Timeout: g.Sync.Timeout, Log: log.With("component", "gallery-sync")})
		if err != nil {
			return err
		}
		d.pull, puller = c, c
	}
	loc, err := g.Location()
	if err != nil {
		return fmt.Errorf("gallery.sync.time_zone: %w", err)
	}
	if d.Gallery, err = active.New(active.Options{Store: d.store, ModelID: deps.ModelID, Dim: deps.Dim, Keys: keys, Pull: puller,
		Schedule: active.Schedule{Start: g.Sync.WindowStart, Length: g.Sync.WindowLength, Retry: g.Sync.Retry, Location: loc},
		Health:   d.Health.Gallery(), Events: d.Events, Clock: deps.Clock, Log: log}); err != nil {
		return err
	}
	d.parts = append(d.parts, part{"gallery", d.Gallery})
	return nil
}

// shutdownTimeout bounds each component's stop.
const shutdownTimeout = 15 * time.Second

// Run runs the graph until ctx ends or a component fails; it stops the
// components in reverse order and returns the first failure (nil on a
// plain cancel). Call Close after it.
func (d *Daemon) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	cancels := make([]context.CancelFunc, len(d.parts))
	dones := make([]chan struct{}, len(d.parts))
	for i, p := range d.parts {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i], dones[i] = cancel, make(chan struct{})
		g.Go(func() error {
			defer close(dones[i])
			if err := p.c.Run(pctx); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			return nil
		})
	}
	d.log.Info("laned running", "components", len(d.parts), "socket", d.cfg.LocalAPI.Socket)
	g.Go(func() error {
		<-gctx.Done()
		d.log.Info("laned stopping")
		for i := len(d.parts) - 1; i >= 0; i-- {
			cancels[i]()
			select {
			case <-dones[i]:
			case <-time.After(shutdownTimeout):
				d.log.Error("component did not stop in time; closing it", "part", d.parts[i].name, "waited", shutdownTimeout)
				d.parts[i].c.Close()
				<-dones[i]
			}
		}
		return nil
	})
	err := g.Wait()
	for _, c := range cancels {
		c()
	}
	return err
}

// Close closes every component in reverse order, then the gallery store.
// Idempotent.
func (d *Daemon) Close() error {
	var errs []error
	for i := len(d.parts) - 1; i >= 0; i-- {
		if err := d.parts[i].c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.parts[i].name, err))
		}
	}
	if d.pull != nil {
		d.pull.Close()
	}
	if d.store != nil {
		if err := d.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
