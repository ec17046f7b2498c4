package active

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/health"
)

const (
	testModel = "test-model"
	testDim   = 16
)

var (
	t0      = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)
	signKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	keys    = bundle.NewKeyRing(signKey.Public().(ed25519.PublicKey))
	quiet   = slog.New(slog.DiscardHandler)
)

// unit is the probe/template for the i-th basis direction.
func unit(i int) []float32 {
	v := make([]float32, testDim)
	v[i%testDim] = 1
	return v
}

func noise(seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, testDim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// signed returns a full bundle of version v holding recs.
func signed(t testing.TB, v uint64, recs ...*bundle.Record) []byte {
	t.Helper()
	m := bundle.Manifest{Version: v, Kind: bundle.Full, Created: t0.Add(-time.Hour), Expires: t0.Add(7 * 24 * time.Hour),
		ModelID: testModel, Dim: testDim}
	w, err := bundle.NewWriter(m, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b *bundle.Record) int { return strings.Compare(a.Subject, b.Subject) })
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.Finish(&b, signKey); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	k, err := store.NewKey(bytes.Repeat([]byte{0x42}, store.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(filepath.Join(t.TempDir(), "gallery.db"), store.Options{Key: k, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recorder is a fake health reporter and event sink.
type recorder struct {
	mu      sync.Mutex
	level   health.Level
	reason  string
	version string
	audits  []string
	faults  []string
}

func (r *recorder) Report(l health.Level, reason string) {
	r.mu.Lock()
	r.level, r.reason = l, reason
	r.mu.Unlock()
}
func (r *recorder) ReportGallery(v string, _ time.Time) { r.mu.Lock(); r.version = v; r.mu.Unlock() }
func (r *recorder) Raise(_ context.Context, f events.Fault) error {
	r.mu.Lock()
	r.faults = append(r.faults, f.Code)
	r.mu.Unlock()
	return nil
}
func (r *recorder) Resolve(context.Context, string, string, string) error { return nil }
func (r *recorder) Audit(_ context.Context, a events.Audit) error {
	r.mu.Lock()
	r.audits = append(r.audits, a.Code+" by "+a.Actor)
	r.mu.Unlock()
	return nil
}
func (r *recorder) state() (health.Level, string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.level, r.reason, r.version
}

// waitFor waits (real time, bounded) for work another goroutine does after
// a fake-clock step.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func subject(name string, tmpl []float32) *bundle.Record {
	return &bundle.Record{Subject: name, Templates: [][]float32{tmpl}}
}

func fmtVersion(v uint64) string { return fmt.Sprint(v) }

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o600) }
