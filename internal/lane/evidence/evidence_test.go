package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/evidence"
	"github.com/laned/laned/internal/vision"
)

var key = bytes.Repeat([]byte{7}, 32)

func chip() vision.Chip {
	pix := make([]byte, 3*150*150)
	for i := range pix {
		pix[i] = byte(i*7 + 3)
	}
	return vision.Chip{Side: 150, Pix: pix}
}

func TestRoundTripAndTTL(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	s, err := evidence.Open(dir, key, 6*time.Hour, clk)
	if err != nil {
		t.Fatal(err)
	}
	c := chip()
	at := clk.Now().Add(-time.Second)
	if err := s.Put(context.Background(), lane.Evidence{TransactionID: "L2-1", Occupant: 1, Camera: "front", At: at, Score: 0.41, Chip: c}); err != nil {
		t.Fatal(err)
	}
	names, err := s.List()
	if err != nil || len(names) != 1 {
		t.Fatalf("List: %v %v", names, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, names[0]))
	if bytes.Contains(raw, c.Pix[:64]) || bytes.Contains(raw, []byte("L2-1")) {
		t.Fatal("crop or metadata readable on disk: not encrypted")
	}
	if st, _ := os.Stat(filepath.Join(dir, names[0])); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	r, err := s.Open(names[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.TransactionID != "L2-1" || r.Occupant != 1 || r.Camera != "front" || !r.At.Equal(at) || r.Score != 0.41 || !bytes.Equal(r.Chip.Pix, c.Pix) {
		t.Fatalf("record %+v", r.Evidence)
	}
	// Another key cannot read it.
	other, _ := evidence.Open(dir, bytes.Repeat([]byte{8}, 32), time.Hour, clk)
	if _, err := other.Open(names[0]); err == nil || !strings.Contains(err.Error(), "at-rest key") {
		t.Errorf("other key: %v", err)
	}
	// Renaming (to extend its life) breaks the seal.
	longer := "99999999999999999999-0000000000000000.evd"
	os.Link(filepath.Join(dir, names[0]), filepath.Join(dir, longer))
	if _, err := s.Open(longer); err == nil {
		t.Error("a renamed crop opened")
	}
	os.Remove(filepath.Join(dir, longer))

	clk.Advance(6*time.Hour - time.Second)
	if _, err := s.Open(names[0]); err != nil {
		t.Fatalf("before its TTL: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := s.Open(names[0]); !errors.Is(err, evidence.ErrExpired) {
		t.Fatalf("at its TTL: %v, want ErrExpired", err)
	}
	n, err := s.Sweep()
	if err != nil || n != 1 {
		t.Fatalf("Sweep: %d %v", n, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left after the sweep: %v", ents)
	}
	s.Close()
	s.Close()
	if err := s.Put(context.Background(), lane.Evidence{Chip: c}); !errors.Is(err, evidence.ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
}

func TestRunSweepsOnTheClock(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	s, err := evidence.Open(dir, key, time.Hour, clk)
	if err != nil {
		t.Fatal(err)
	}
	s.Put(context.Background(), lane.Evidence{TransactionID: "t", Chip: chip()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	clk.BlockUntil(1)
	for range 13 { // 13 ticks of TTL/12 (5 min)
		clk.Advance(5 * time.Minute)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ents, _ := os.ReadDir(dir)
		if len(ents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("crop not swept after its TTL: %v", ents)
		}
		clk.Advance(5 * time.Minute)
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		key []byte
		ttl time.Duration
		dir string
		bad string
	}{
		{key[:16], time.Hour, dir, "32"},
		{key, 13 * time.Hour, dir, "ttl"},
		{key, 0, dir, "ttl"},
	} {
		if _, err := evidence.Open(c.dir, c.key, c.ttl, nil); err == nil || !strings.Contains(err.Error(), c.bad) {
			t.Errorf("Open(%d-byte key, %s): %v", len(c.key), c.ttl, err)
		}
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := evidence.Open(f, key, time.Hour, nil); err == nil {
		t.Error("opened a file as the evidence directory")
	}
}

// FuzzOpen: any file content under a crop name is refused cleanly.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	s, err := evidence.Open(dir, key, time.Hour, clk)
	if err != nil {
		f.Fatal(err)
	}
	s.Put(context.Background(), lane.Evidence{TransactionID: "t", Chip: chip()})
	names, _ := s.List()
	good, _ := os.ReadFile(filepath.Join(dir, names[0]))
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:40])
	name := names[0]
	f.Fuzz(func(t *testing.T, b []byte) {
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
		r, err := s.Open(name)
		if err == nil && !bytes.Equal(b, good) {
			t.Fatalf("forged crop opened: %+v", r.Evidence.TransactionID)
		}
	})
}
