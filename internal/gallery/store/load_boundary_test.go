package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestLoadNextBoundary: Load reports the earliest validity boundary after
// now, so the lane can rebuild its index when a subject enters or leaves.
func TestLoadNextBoundary(t *testing.T) {
	recs := records("s", 4, 1)
	recs[0].ValidUntil = testNow.Add(-time.Hour)    // expired: skipped, not a boundary
	recs[1].ValidUntil = testNow.Add(2 * time.Hour) // leaves later
	recs[2].ValidFrom = testNow.Add(30 * time.Minute)
	recs[2].ValidUntil = testNow.Add(5 * time.Hour) // enters soonest
	s := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	if _, err := importBytes(s, bundleBytes(t, manifest(1), recs)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at       time.Time
		subjects int
		next     time.Time
	}{
		{testNow, 2, testNow.Add(30 * time.Minute)},
		{testNow.Add(30 * time.Minute), 3, testNow.Add(2 * time.Hour)},
		{testNow.Add(2 * time.Hour), 2, testNow.Add(5 * time.Hour)},
		{testNow.Add(5 * time.Hour), 1, time.Time{}},
	} {
		l, err := s.Load(t.Context(), testModel, testDim, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if l.Index.Subjects() != tc.subjects || !l.NextBoundary.Equal(tc.next) {
			t.Errorf("at %s: %d subjects, next boundary %s; want %d, %s", tc.at, l.Index.Subjects(), l.NextBoundary, tc.subjects, tc.next)
		}
	}
}

func TestLoadCancelled(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	if _, err := importBytes(s, bundleBytes(t, manifest(1), records("s", 3, 1))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.LoadIndex(ctx, testModel, testDim, testNow); !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadIndex with a cancelled context: %v", err)
	}
}

// TestCloseTwice: the lifecycle contract (internal/doc.go): Close is
// idempotent, and the file is free for the next Open after it.
func TestCloseTwice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g.db")
	s, err := Open(p, Options{Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := Open(p, Options{Key: testKey(t), LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	s2.Close()
}
