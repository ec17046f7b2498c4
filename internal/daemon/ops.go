package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/laned/laned/internal/check"
	"github.com/laned/laned/internal/console"
	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/localapi"
)

// ops answers the console routes of the local API from the daemon's
// components (localapi.Ops). The lane registers cameras and sensors with
// Graph.Routes.SetLane.
type ops struct{ d *Daemon }

var _ localapi.Ops = ops{}

func (o ops) Status(context.Context) (console.Status, error) {
	d := o.d
	snap := d.Health.Snapshot()
	st := console.Status{Version: d.version, Site: d.cfg.Site, Lane: d.cfg.Lane, State: snap.Level.String(),
		Uptime: d.clk.Now().Sub(d.started).Round(time.Second), Parts: map[string]string{}}
	for _, c := range snap.Components {
		st.Parts[c.Name] = c.Level.String()
		if c.Reason != "" {
			st.Problems = append(st.Problems, c.Name+": "+c.Reason)
		}
	}
	if s := d.Watchdog.Stuck(); s != "" {
		st.Problems = append(st.Problems, "watchdog: stuck "+s)
	}
	if !d.Routes.HasLane() {
		st.Parts["lane"] = "not running"
	}
	return st, nil
}

func galleryInfo(s active.Status) console.GalleryInfo {
	state := s.Level.String()
	if s.Reason != "" {
		state += ": " + s.Reason
	}
	if s.LastSyncErr != "" {
		state += " (last sync failed: " + s.LastSyncErr + ")"
	}
	return console.GalleryInfo{Version: s.Version, Subjects: s.Subjects, LoadedAt: s.LoadedAt, Built: s.Created, State: state}
}

func (o ops) GalleryInfo(context.Context) (console.GalleryInfo, error) {
	return galleryInfo(o.d.Gallery.Status()), nil
}

func (o ops) GallerySync(ctx context.Context) (console.GalleryInfo, error) {
	if err := o.d.Gallery.Sync(ctx); err != nil {
		return console.GalleryInfo{}, err
	}
	return galleryInfo(o.d.Gallery.Status()), nil
}

func (o ops) GalleryImport(ctx context.Context, path string) (console.GalleryInfo, error) {
	if !filepath.IsAbs(path) {
		return console.GalleryInfo{}, fmt.Errorf("gallery import %q: want an absolute path on the booth (the daemon reads it)", path)
	}
	actor := localapi.Actor(ctx)
	if actor == "" {
		actor = "console"
	}
	if _, err := o.d.Gallery.ImportFile(ctx, path, actor); err != nil {
		return console.GalleryInfo{}, err
	}
	return galleryInfo(o.d.Gallery.Status()), nil
}

func (o ops) outbox() console.OutboxInfo {
	st := o.d.Outbox.Stats()
	us := o.d.Uplink.Status()
	up := string(us.State)
	if us.Reason != "" {
		up += " (" + us.Reason + ": " + us.LastError + ")"
	}
	return console.OutboxInfo{Depth: st.Count, Oldest: st.OldestAge, Quarantined: st.Quarantined, Uplink: up}
}

func (o ops) Outbox(context.Context) (console.OutboxInfo, error) { return o.outbox(), nil }

// errNoRetryNow: the uplink has no hook to cut its back-off short yet.
var errNoRetryNow = errors.New("outbox retry now: the uplink retries on its own back-off and has no retry-now hook yet")

func (o ops) OutboxRetry(context.Context) (console.OutboxInfo, error) {
	us := o.d.Uplink.Status()
	if !us.NextRetry.IsZero() {
		return console.OutboxInfo{}, fmt.Errorf("%w; next attempt at %s", errNoRetryNow, us.NextRetry.UTC().Format(time.RFC3339))
	}
	return console.OutboxInfo{}, errNoRetryNow
}

func (o ops) Models(ctx context.Context) ([]console.Model, error) {
	return (&console.Offline{ModelDir: o.d.modelDir}).Models(ctx)
}

// Config is the effective configuration as a document tree; the local API
// and the console redact the secret keys, and the inline broker password
// is blanked here already.
func (o ops) Config(context.Context) (map[string]any, error) {
	c := o.d.cfg
	if c.Uplink.Password != "" {
		c.Uplink.Password = "[redacted]"
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	return m, nil
}

func (o ops) LogTail(ctx context.Context, n int, follow bool, fn func(string) error) error {
	return (&console.Offline{}).LogTail(ctx, n, follow, fn)
}

func (o ops) Events(ctx context.Context, n int, follow bool, fn func(console.Event) error) error {
	return o.d.ring.tail(ctx, n, follow, fn)
}

func (o ops) Selftest(ctx context.Context) ([]console.CheckResult, error) {
	rs := check.Run(ctx, o.d.Checks.list(), 0)
	out := make([]console.CheckResult, len(rs))
	for i, r := range rs {
		out[i] = console.CheckResult{Name: r.Name, OK: r.OK, Detail: r.Detail}
	}
	return out, nil
}
