package active

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/pull"
	"github.com/laned/laned/internal/health"
)

func newGallery(t *testing.T, o Options) (*Gallery, *recorder) {
	t.Helper()
	rec := &recorder{}
	if o.Store == nil {
		o.Store = openStore(t)
	}
	o.ModelID, o.Dim, o.Keys, o.Health, o.Events, o.Log = testModel, testDim, keys, rec, rec, quiet
	if o.Clock == nil {
		o.Clock = clock.NewFake(t0)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, rec
}

// TestNoGallery: before any gallery the snapshot is empty, never nil;
// searches find nothing without error or panic, whatever the probe; the
// gallery reports degraded.
func TestNoGallery(t *testing.T) {
	g, rec := newGallery(t, Options{})
	for _, when := range []string{"before Run", "after the first load"} {
		s := g.Current()
		if s == nil || !s.Empty() || s.Version() != NoGallery || s.Subjects() != 0 || s.ModelID() != testModel {
			t.Fatalf("%s: snapshot %+v", when, s)
		}
		for _, probe := range [][]float32{unit(0), nil, {1, 2}} {
			r, err := s.Search(probe, 5)
			if r != nil || err != nil {
				t.Errorf("%s: empty search of %v: %v, %v", when, probe, r, err)
			}
			f, err := g.Search(probe, 5)
			if f.Version != NoGallery || f.Results != nil || err != nil {
				t.Errorf("%s: gallery search: %+v %v", when, f, err)
			}
		}
		if err := g.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if l, reason, _ := rec.state(); l != health.Degraded || reason != "no gallery imported" {
		t.Errorf("health %s %q, want degraded", l, reason)
	}
	if st := g.Status(); st.Level != health.Degraded || st.Version != NoGallery {
		t.Errorf("status %+v", st)
	}
}

// TestSwapWhileSearching: searches run on four goroutines while twelve
// gallery versions are imported and swapped in; every search reports the
// version of the index it used (version v holds subject "v<v>" on the
// probe's direction, so a result from another version is caught), and a
// pinned snapshot keeps answering from its own version.
func TestSwapWhileSearching(t *testing.T) {
	g, rec := newGallery(t, Options{})
	ctx := context.Background()
	var bundles [][]byte
	const versions = 12
	for v := uint64(1); v <= versions; v++ {
		recs := []*bundle.Record{subject("v"+fmtVersion(v), unit(0))}
		for i := range 20 {
			recs = append(recs, subject("filler-"+fmtVersion(uint64(i)), noise(v*100+uint64(i))))
		}
		bundles = append(bundles, signed(t, v, recs...))
	}
	var stop atomic.Bool
	var searches, mismatches atomic.Int64
	seen := sync.Map{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				f, err := g.Search(unit(0), 3)
				searches.Add(1)
				seen.Store(f.Version, true)
				switch {
				case err != nil:
					t.Errorf("search: %v", err)
					return
				case f.Version == NoGallery:
					if len(f.Results) != 0 {
						mismatches.Add(1)
					}
				case len(f.Results) == 0 || f.Results[0].Subject != "v"+f.Version:
					mismatches.Add(1)
				}
			}
		}()
	}
	var pinned *Snapshot
	for i, b := range bundles {
		if _, err := g.Import(ctx, bytes.NewReader(b), "uid:1000"); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			pinned = g.Current()
		}
	}
	stop.Store(true)
	wg.Wait()
	if mismatches.Load() != 0 {
		t.Fatalf("%d of %d searches answered from another version than they reported", mismatches.Load(), searches.Load())
	}
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	t.Logf("FIGURES swap: %d searches over %d imports, %d versions seen by searchers, 0 mismatches", searches.Load(), versions, n)
	if r, _ := pinned.Search(unit(0), 1); pinned.Version() != "3" || r[0].Subject != "v3" {
		t.Errorf("pinned snapshot moved: version %s, %+v", pinned.Version(), r)
	}
	if s := g.Current(); s.Version() != fmtVersion(versions) || s.Subjects() != 21 {
		t.Errorf("current %s with %d subjects", s.Version(), s.Subjects())
	}
	if l, _, v := rec.state(); l != health.OK || v != fmtVersion(versions) {
		t.Errorf("health %s, version %s", l, v)
	}
	if len(rec.audits) != versions || rec.audits[0] != "gallery.import by uid:1000" {
		t.Errorf("audits %v", rec.audits)
	}
}

// TestValidityBoundaries: on the fake clock, a subject whose valid_from
// comes starts matching at that instant, and one whose valid_until comes
// stops matching within 1 s of it (here: at the instant, since the rebuild
// runs on the boundary's timer).
func TestValidityBoundaries(t *testing.T) {
	fc := clock.NewFake(t0)
	g, _ := newGallery(t, Options{Clock: fc})
	from, until := t0.Add(5*time.Minute), t0.Add(10*time.Minute)
	leaving := subject("leaving", unit(1))
	leaving.ValidUntil = until
	arriving := subject("arriving", unit(2))
	arriving.ValidFrom = from
	if _, err := g.Import(context.Background(), bytes.NewReader(signed(t, 1, leaving, arriving, subject("stays", unit(3)))), "test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	matches := func(name string, probe []float32) bool {
		r, err := g.Current().Search(probe, 1)
		return err == nil && len(r) == 1 && r[0].Subject == name && r[0].Score > 0.99
	}
	if !matches("leaving", unit(1)) || matches("arriving", unit(2)) || !g.Current().NextBoundary().Equal(from) {
		t.Fatalf("at load: next boundary %s", g.Current().NextBoundary())
	}
	step := func(to time.Time) {
		fc.BlockUntil(1)
		fc.Advance(to.Sub(fc.Now()))
	}
	step(from.Add(-time.Millisecond))
	if matches("arriving", unit(2)) {
		t.Fatal("arriving matches before valid_from")
	}
	step(from)
	waitFor(t, "the rebuild at valid_from", func() bool { return !g.Current().LoadedAt().Before(from) })
	if !matches("arriving", unit(2)) || !matches("leaving", unit(1)) {
		t.Fatal("after valid_from: arriving should match, leaving still")
	}
	waitFor(t, "the next boundary armed", func() bool { return g.Current().NextBoundary().Equal(until) })
	step(until.Add(-time.Millisecond))
	if !matches("leaving", unit(1)) {
		t.Fatal("leaving stopped matching before valid_until")
	}
	step(until)
	waitFor(t, "the rebuild at valid_until", func() bool { return !g.Current().LoadedAt().Before(until) })
	lag := g.Current().LoadedAt().Sub(until)
	if matches("leaving", unit(1)) || !matches("stays", unit(3)) || lag > time.Second {
		t.Fatalf("after valid_until: leaving still matches or lag %s", lag)
	}
	t.Logf("FIGURES expiry: expired subject stopped matching %s after valid_until (fake clock)", lag)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v", err)
	}
}

func TestImportRefusedKeepsGallery(t *testing.T) {
	g, rec := newGallery(t, Options{})
	ctx := context.Background()
	if _, err := g.Import(ctx, bytes.NewReader(signed(t, 2, subject("a", unit(0)))), "tech"); err != nil {
		t.Fatal(err)
	}
	bad := signed(t, 3, subject("b", unit(0)))
	bad[len(bad)-1] ^= 1
	if _, err := g.Import(ctx, bytes.NewReader(bad), "tech"); err == nil {
		t.Fatal("damaged bundle imported")
	}
	if _, err := g.Import(ctx, bytes.NewReader(signed(t, 1, subject("old", unit(0)))), "tech"); err == nil {
		t.Fatal("older version imported")
	}
	if v := g.Current().Version(); v != "2" {
		t.Errorf("version %s after refusals, want 2", v)
	}
	if len(rec.audits) != 3 || rec.audits[1] != "gallery.import_refused by tech" {
		t.Errorf("audits %v", rec.audits)
	}
	if _, err := g.ImportFile(ctx, "/nonexistent/bundle", "tech"); err == nil {
		t.Error("missing file imported")
	}
}

// fakePull hands the importer a bundle file, like pull.Client.Sync.
type fakePull struct {
	t      *testing.T
	bundle []byte
	err    error
}

func (f *fakePull) Sync(ctx context.Context, imp pull.Importer) (pull.Result, error) {
	if f.err != nil {
		return pull.Result{}, f.err
	}
	if f.bundle == nil {
		return pull.Result{NotModified: true}, nil
	}
	p := f.t.TempDir() + "/bundle"
	if err := writeFile(p, f.bundle); err != nil {
		return pull.Result{}, err
	}
	return pull.Result{}, imp.ImportFile(ctx, p)
}

// TestNightlySync: the schedule runs the pull in its window (fake clock)
// and the new gallery is swapped in; a failed sync is a fault event and
// leaves the gallery as it was.
func TestNightlySync(t *testing.T) {
	fc := clock.NewFake(t0) // 22:00 UTC
	fp := &fakePull{t: t, err: errors.New("central office unreachable")}
	g, rec := newGallery(t, Options{Clock: fc, Pull: fp, Schedule: Schedule{Start: 23 * time.Hour, Length: time.Minute, Location: time.UTC}})
	if err := g.Sync(context.Background()); err == nil {
		t.Fatal("failed sync: no error")
	}
	if len(rec.faults) != 1 || rec.faults[0] != "gallery.sync_failed" || g.Status().LastSyncErr == "" {
		t.Errorf("faults %v, status %+v", rec.faults, g.Status())
	}
	fp.err, fp.bundle = nil, signed(t, 5, subject("x", unit(0)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	fc.BlockUntil(1)
	fc.Advance(time.Hour + time.Minute)
	waitFor(t, "the nightly sync", func() bool { return g.Current().Version() == "5" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	g, _ := newGallery(t, Options{})
	if err := g.Close(); err != nil { // before Run
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
	g2, _ := newGallery(t, Options{})
	done := make(chan error)
	go func() { done <- g2.Run(context.Background()) }()
	waitFor(t, "first load", func() bool { return g2.Status().Reason == "no gallery imported" })
	g2.Close()
	g2.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run on Close: %v", err)
	}
	for _, o := range []Options{{}, {Store: openStore(t)}, {Store: openStore(t), ModelID: "m", Dim: 4, Schedule: Schedule{Start: 25 * time.Hour}}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
