package active

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/pull"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/match"
)

// Store is the part of *store.Store the gallery uses.
type Store interface {
	Load(ctx context.Context, modelID string, dim int, now time.Time) (store.Loaded, error)
	Import(ctx context.Context, r io.Reader, opts bundle.VerifyOptions) (*bundle.Manifest, error)
	Status(now time.Time) (store.Status, error)
}

// Puller fetches the central office's bundle (a *pull.Client).
type Puller interface {
	Sync(ctx context.Context, imp pull.Importer) (pull.Result, error)
}

// Reporter takes the gallery's health (a health.Tracker's Gallery()).
type Reporter interface {
	Report(level health.Level, reason string)
	ReportGallery(version string, created time.Time)
}

// Events takes the gallery's faults and audit records (*events.Emitter).
type Events interface {
	Raise(ctx context.Context, f events.Fault) error
	Resolve(ctx context.Context, code, source, message string) error
	Audit(ctx context.Context, a events.Audit) error
}

// Schedule is the nightly sync window (see pull.Scheduler).
type Schedule struct {
	Start    time.Duration  // after local midnight; default 2h
	Length   time.Duration  // default 3h
	Retry    time.Duration  // default 15m
	Location *time.Location // nil: time.Local
}

// Options configure New.
type Options struct {
	Store   Store  // required
	ModelID string // the lane's recogniser; required
	Dim     int    // its template dimension; required
	Keys    bundle.KeyRing
	// Pull, when set, is run on Schedule every night.
	Pull     Puller
	Schedule Schedule
	Health   Reporter // optional
	Events   Events   // optional
	Clock    clock.Clock
	Log      *slog.Logger
}

// Found is the result of one search and the gallery version it used.
type Found struct {
	Version string
	Results []match.Result
}

// Status is what `laned gallery status` shows.
type Status struct {
	Version      string       `json:"version"`
	ModelID      string       `json:"model_id"`
	Subjects     int          `json:"subjects"`
	LoadedAt     time.Time    `json:"loaded_at"`
	NextBoundary time.Time    `json:"next_boundary,omitzero"`
	Created      time.Time    `json:"created,omitzero"`
	Expires      time.Time    `json:"expires,omitzero"`
	Store        store.Status `json:"store"`
	Level        health.Level `json:"level"`
	Reason       string       `json:"reason,omitempty"`
	LastSync     time.Time    `json:"last_sync,omitzero"`
	LastSyncErr  string       `json:"last_sync_error,omitempty"`
}

// Gallery is the lane's active gallery. Safe for concurrent use.
type Gallery struct {
	o   Options
	clk clock.Clock
	log *slog.Logger
	cur atomic.Pointer[Snapshot]

	swapped     chan struct{} // one slot: the boundary loop re-arms
	mu          sync.Mutex    // serialises import, sync and reload
	stmu        sync.Mutex
	level       health.Level
	reason      string
	lastSync    time.Time
	lastSyncErr string

	runMu  sync.Mutex
	cancel context.CancelFunc
	closed bool
	done   chan struct{}
}

// New checks o and returns a gallery holding the empty snapshot; Run (or
// Reload) loads the store's active gallery.
func New(o Options) (*Gallery, error) {
	if o.Store == nil {
		return nil, errors.New("gallery: no store")
	}
	if o.ModelID == "" || o.Dim <= 0 {
		return nil, fmt.Errorf("gallery: need the recogniser's model id and dimension (got %q, %d)", o.ModelID, o.Dim)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &o.Schedule
	if s.Start == 0 {
		s.Start = 2 * time.Hour
	}
	if s.Length == 0 {
		s.Length = 3 * time.Hour
	}
	if s.Retry == 0 {
		s.Retry = 15 * time.Minute
	}
	if s.Start < 0 || s.Start >= 24*time.Hour || s.Length <= 0 || s.Retry < 0 {
		return nil, fmt.Errorf("gallery: sync window start %s, length %s: need 0 <= start < 24h and a positive length", s.Start, s.Length)
	}
	g := &Gallery{o: o, clk: o.Clock, log: o.Log.With("component", "gallery"), swapped: make(chan struct{}, 1), done: make(chan struct{})}
	g.cur.Store(emptySnapshot(o.ModelID, o.Clock.Now()))
	g.setLevel(health.Degraded, "no gallery loaded yet")
	return g, nil
}

// Current returns the snapshot to match against; never nil.
func (g *Gallery) Current() *Snapshot { return g.cur.Load() }

// Search searches the current snapshot and says which version it used.
func (g *Gallery) Search(probe []float32, k int) (Found, error) {
	s := g.Current()
	r, err := s.Search(probe, k)
	return Found{Version: s.Version(), Results: r}, err
}

func (g *Gallery) setLevel(l health.Level, reason string) {
	g.stmu.Lock()
	g.level, g.reason = l, reason
	g.stmu.Unlock()
	if g.o.Health != nil {
		g.o.Health.Report(l, reason)
	}
}

func (g *Gallery) swap(s *Snapshot) {
	g.cur.Store(s)
	select {
	case g.swapped <- struct{}{}:
	default:
	}
	if g.o.Health != nil {
		if s.Empty() {
			g.o.Health.ReportGallery("", time.Time{})
		} else {
			g.o.Health.ReportGallery(s.Version(), s.Created())
		}
	}
}

// Reload builds the index of the store's active gallery at the clock's
// now and swaps it in. With no gallery in the store the empty snapshot is
// swapped in and the gallery reports degraded. When loading fails the
// current snapshot keeps serving and the error is returned and reported.
func (g *Gallery) Reload(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reload(ctx)
}

func (g *Gallery) reload(ctx context.Context) error {
	now := g.clk.Now()
	l, err := g.o.Store.Load(ctx, g.o.ModelID, g.o.Dim, now)
	if errors.Is(err, store.ErrNoGallery) {
		g.swap(emptySnapshot(g.o.ModelID, now))
		g.setLevel(health.Degraded, "no gallery imported")
		return nil
	}
	if err != nil {
		g.setLevel(health.Fault, err.Error())
		g.raise(ctx, "gallery.load_failed", err)
		return fmt.Errorf("gallery: reload: %w", err)
	}
	next := l.NextBoundary
	if e := l.Manifest.Expires; e.After(now) && (next.IsZero() || e.Before(next)) {
		next = e // the health level changes then
	}
	s := newSnapshot(l.Index, l.Manifest, now, next)
	g.swap(s)
	g.log.Info("gallery swapped in", "version", s.Version(), "subjects", s.Subjects(), "outside_validity", l.Skipped, "next_boundary", next)
	g.resolve(ctx, "gallery.load_failed")
	st, err := g.o.Store.Status(now)
	switch {
	case err != nil:
		g.setLevel(health.Degraded, err.Error())
	case st.Degraded:
		g.setLevel(health.Degraded, st.Reason)
	default:
		g.setLevel(health.OK, "")
	}
	return nil
}

func (g *Gallery) raise(ctx context.Context, code string, err error) {
	if g.o.Events != nil {
		g.o.Events.Raise(ctx, events.Fault{Code: code, Source: "gallery", Severity: events.Error, Message: clip(err.Error())})
	}
}

func (g *Gallery) resolve(ctx context.Context, code string) {
	if g.o.Events != nil {
		g.o.Events.Resolve(ctx, code, "gallery", "")
	}
}

func clip(s string) string {
	if r := []rune(s); len(r) > 250 {
		return string(r[:250]) + "…"
	}
	return s
}

func (g *Gallery) verifyOpts() bundle.VerifyOptions {
	return bundle.VerifyOptions{Keys: g.o.Keys, ModelID: g.o.ModelID, Dim: g.o.Dim, Now: g.clk.Now()}
}

// Import verifies a bundle, imports it and swaps its index in: a
// technician's import. actor names who asked (audit). On refusal the
// active gallery is unchanged.
func (g *Gallery) Import(ctx context.Context, r io.Reader, actor string) (*bundle.Manifest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, err := g.o.Store.Import(ctx, r, g.verifyOpts())
	if err != nil {
		g.audit(ctx, actor, "gallery.import_refused", "bundle refused: "+err.Error(), nil)
		return nil, fmt.Errorf("gallery: import: %w", err)
	}
	g.audit(ctx, actor, "gallery.import", "gallery imported", map[string]string{"version": strconv.FormatUint(m.Version, 10)})
	if err := g.reload(ctx); err != nil {
		return m, err
	}
	return m, nil
}

// ImportFile is Import of a file.
func (g *Gallery) ImportFile(ctx context.Context, path, actor string) (*bundle.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gallery: import: %w", err)
	}
	defer f.Close()
	return g.Import(ctx, f, actor)
}

func (g *Gallery) audit(ctx context.Context, actor, code, msg string, details map[string]string) {
	if g.o.Events != nil {
		g.o.Events.Audit(ctx, events.Audit{Code: code, Actor: actor, Message: clip(msg), Details: details})
	}
}

// importer adapts the store to pull.Importer while g.mu is held.
type importer struct {
	g   *Gallery
	got *bundle.Manifest
}

func (i *importer) ImportFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	i.got, err = i.g.o.Store.Import(ctx, f, i.g.verifyOpts())
	return err
}

// Sync pulls the central office's bundle now and, when a new one was
// imported, swaps it in.
func (g *Gallery) Sync(ctx context.Context) error {
	if g.o.Pull == nil {
		return errors.New("gallery: no sync source configured")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	imp := &importer{g: g}
	res, err := g.o.Pull.Sync(ctx, imp)
	g.stmu.Lock()
	g.lastSync, g.lastSyncErr = g.clk.Now(), ""
	if err != nil {
		g.lastSyncErr = err.Error()
	}
	g.stmu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			g.raise(ctx, "gallery.sync_failed", err)
		}
		return fmt.Errorf("gallery: sync: %w", err)
	}
	g.resolve(ctx, "gallery.sync_failed")
	if res.NotModified || imp.got == nil {
		return nil
	}
	return g.reload(ctx)
}

// Status reports the current snapshot and the store's state.
func (g *Gallery) Status() Status {
	s := g.Current()
	st := Status{Version: s.Version(), ModelID: s.ModelID(), Subjects: s.Subjects(), LoadedAt: s.LoadedAt(),
		NextBoundary: s.NextBoundary(), Created: s.Created(), Expires: s.Expires()}
	if ss, err := g.o.Store.Status(g.clk.Now()); err == nil {
		st.Store = ss
	}
	g.stmu.Lock()
	st.Level, st.Reason, st.LastSync, st.LastSyncErr = g.level, g.reason, g.lastSync, g.lastSyncErr
	g.stmu.Unlock()
	return st
}

// Run loads the store's gallery, then rebuilds the index at each validity
// boundary and, with Pull set, syncs every night, until ctx is cancelled
// or Close; then it returns nil.
func (g *Gallery) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.runMu.Lock()
	if g.closed || g.cancel != nil {
		g.runMu.Unlock()
		return errors.New("gallery: Run called twice or after Close")
	}
	g.cancel = cancel
	g.runMu.Unlock()
	defer close(g.done)

	if err := g.Reload(ctx); err != nil && ctx.Err() == nil {
		g.log.Error("gallery not loaded; matching nothing until the next import", "err", err)
	}
	var wg sync.WaitGroup
	if g.o.Pull != nil {
		sc := &pull.Scheduler{Clock: g.clk, Location: g.o.Schedule.Location, Start: g.o.Schedule.Start,
			Length: g.o.Schedule.Length, Retry: g.o.Schedule.Retry, Job: g.Sync, Log: g.log}
		wg.Add(1)
		go func() { defer wg.Done(); sc.Run(ctx) }()
	}
	g.boundaries(ctx)
	wg.Wait()
	return nil
}

// retryRebuild is the wait after a failed rebuild at a boundary.
const retryRebuild = time.Minute

// boundaries rebuilds the index when the current snapshot's next boundary
// comes, re-arming after every swap.
func (g *Gallery) boundaries(ctx context.Context) {
	var failed bool // the last rebuild failed: retry after retryRebuild, not at once
	for {
		var fire <-chan time.Time
		var t clock.Timer
		if next := g.Current().NextBoundary(); !next.IsZero() {
			d := next.Sub(g.clk.Now())
			if failed {
				d = max(d, retryRebuild)
			}
			t = g.clk.NewTimer(d)
			fire = t.C()
		}
		select {
		case <-ctx.Done():
		case <-g.swapped:
			failed = false
		case <-fire:
			err := g.Reload(ctx)
			failed = err != nil
			if err != nil && ctx.Err() == nil {
				g.log.Error("gallery rebuild at a validity boundary failed; retrying", "err", err, "in", retryRebuild)
			}
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Close stops Run and waits for it. Idempotent; it does not close the
// store (its owner does).
func (g *Gallery) Close() error {
	g.runMu.Lock()
	cancel, closed := g.cancel, g.closed
	g.closed = true
	g.runMu.Unlock()
	if !closed && cancel != nil {
		cancel()
		<-g.done
	}
	return nil
}
