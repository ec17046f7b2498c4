package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	bolt "go.etcd.io/bbolt"
)

var (
	testNow  = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)
	testSign = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	testRaw  = bytes.Repeat([]byte{0x42}, KeySize)
)

const (
	testModel = "test-model"
	testDim   = 8
)

func testKey(t testing.TB) *Key {
	k, err := NewKey(testRaw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifyOpts() bundle.VerifyOptions {
	return bundle.VerifyOptions{Keys: bundle.NewKeyRing(testSign.Public().(ed25519.PublicKey)), ModelID: testModel, Dim: testDim, Now: testNow}
}

func manifest(version uint64) bundle.Manifest {
	return bundle.Manifest{Version: version, Kind: bundle.Full, Created: testNow.Add(-time.Hour), Expires: testNow.Add(7 * 24 * time.Hour), ModelID: testModel, Dim: testDim}
}

func vec(seed uint64, dim int) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// records makes n subjects "<prefix>%07d" with templates seeded by seed.
func records(prefix string, n int, seed uint64) []*bundle.Record {
	rs := make([]*bundle.Record, n)
	for i := range rs {
		rs[i] = &bundle.Record{Subject: fmt.Sprintf("%s%07d", prefix, i), Category: "expected-traveller",
			Templates: [][]float32{vec(seed+uint64(i), testDim)}, Attributes: map[string]string{"i": fmt.Sprint(i)}}
	}
	return rs
}

func writeBundle(t testing.TB, path string, m bundle.Manifest, recs []*bundle.Record) {
	t.Helper()
	w, err := bundle.NewWriter(m, filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(f, testSign); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func bundleBytes(t testing.TB, m bundle.Manifest, recs []*bundle.Record) []byte {
	p := filepath.Join(t.TempDir(), "b")
	writeBundle(t, p, m, recs)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sealed signs a records section the Writer would refuse.
func sealed(t testing.TB, m bundle.Manifest, key ed25519.PrivateKey, recs ...*bundle.Record) []byte {
	var sec []byte
	for _, r := range recs {
		b, err := bundle.MarshalRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		sec = bundle.AppendRecord(sec, b)
	}
	var buf bytes.Buffer
	if _, err := bundle.Seal(&buf, m, key, sec, uint64(len(recs))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// digestRecords is what a lane serving recs must load: count and a hash of
// subjects and templates in order.
func digestRecords(recs []*bundle.Record) (int, [32]byte) {
	h := sha256.New()
	for _, r := range recs {
		hashRecord(h, r)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return len(recs), d
}

func hashRecord(h interface{ Write([]byte) (int, error) }, r *bundle.Record) {
	h.Write([]byte(r.Subject))
	h.Write([]byte{0})
	for _, t := range r.Templates {
		for _, x := range t {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(x)))
		}
	}
}

// loaded is digestRecords of what the store serves.
func loaded(t testing.TB, s *Store) (int, [32]byte, uint64) {
	t.Helper()
	h := sha256.New()
	n := 0
	m, err := s.Each(func(r *bundle.Record) error { hashRecord(h, r); n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return n, d, m.Version
}

func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{Key: testKey(t), Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func importBytes(s *Store, b []byte) (*bundle.Manifest, error) {
	return s.Import(context.Background(), bytes.NewReader(b), verifyOpts())
}

func ed25519Key(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

// generations counts gen-* buckets.
func generations(t testing.TB, s *Store) int {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if bytes.HasPrefix(name, []byte(genPrefix)) {
				n++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
