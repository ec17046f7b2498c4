package store

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	bolt "go.etcd.io/bbolt"
)

func TestImportFullThenDelta(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	v1 := records("s", 30, 0)
	if _, err := importBytes(s, bundleBytes(t, manifest(1), v1)); err != nil {
		t.Fatal(err)
	}
	n, d, ver := loaded(t, s)
	if wn, wd := digestRecords(v1); n != wn || d != wd || ver != 1 {
		t.Fatalf("loaded %d records of v%d, want %d of v1 (digest equal: %v)", n, ver, wn, d == wd)
	}
	// Delta: remove s0000000 and s0000010, replace s0000005, add s0000015a and zzz.
	rep := &bundle.Record{Subject: "s0000005", Templates: [][]float32{vec(1000, testDim)}}
	add1 := &bundle.Record{Subject: "s0000015a", Templates: [][]float32{vec(1001, testDim)}}
	add2 := &bundle.Record{Subject: "zzz", Templates: [][]float32{vec(1002, testDim)}}
	delta := manifest(2)
	delta.Kind, delta.BaseVersion, delta.ResultCount = bundle.Delta, 1, 30
	ops := []*bundle.Record{{Subject: "s0000000", Remove: true}, rep, {Subject: "s0000010", Remove: true}, add1, add2}
	if _, err := importBytes(s, bundleBytes(t, delta, ops)); err != nil {
		t.Fatal(err)
	}
	var want []*bundle.Record
	for _, r := range v1 {
		switch r.Subject {
		case "s0000000", "s0000010":
		case "s0000005":
			want = append(want, rep)
		default:
			want = append(want, r)
		}
	}
	want = append(want, add1, add2)
	slices.SortFunc(want, func(a, b *bundle.Record) int { return strings.Compare(a.Subject, b.Subject) })
	n, d, ver = loaded(t, s)
	if wn, wd := digestRecords(want); n != wn || d != wd || ver != 2 {
		t.Fatalf("after delta loaded %d of v%d, want %d of v2 (digest equal: %v)", n, ver, wn, d == wd)
	}
	st, err := s.Status(testNow)
	if err != nil || !st.Active || st.Degraded || st.Subjects != 30 || st.Highest != 2 {
		t.Fatalf("status %+v, %v", st, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	ix, m, err := s.LoadIndex(t.Context(), testModel, testDim, testNow)
	if err != nil || ix.Subjects() != 30 || m.Version != 2 {
		t.Fatalf("LoadIndex: %v", err)
	}
	res, err := ix.Search(add1.Templates[0], 1)
	if err != nil || res[0].Subject != add1.Subject {
		t.Fatalf("search: %+v %v", res, err)
	}
	if _, _, err := s.LoadIndex(t.Context(), "other", testDim, testNow); !errors.Is(err, bundle.ErrModel) {
		t.Fatalf("LoadIndex for another model: %v", err)
	}
	if g := generations(t, s); g != 1 {
		t.Fatalf("%d generations after two imports, want 1", g)
	}
}

// TestRejects: every refused bundle leaves the active gallery exactly as it
// was and says why.
func TestRejects(t *testing.T) {
	other := ed25519Key(9)
	base := records("s", 20, 0)
	good := func(v uint64) bundle.Manifest { return manifest(v) }
	with := func(v uint64, f func(*bundle.Manifest)) bundle.Manifest { m := manifest(v); f(&m); return m }
	rec := func(s string, v []float32) *bundle.Record {
		return &bundle.Record{Subject: s, Templates: [][]float32{v}}
	}
	ok := vec(1, testDim)
	nan, inf := slices.Clone(ok), slices.Clone(ok)
	nan[3], inf[3] = float32(math.NaN()), float32(math.Inf(-1))
	valid := bundleBytes(t, good(9), records("s", 20, 50))
	flip := func(off int) []byte { b := slices.Clone(valid); b[off] ^= 1; return b }
	delta := func(baseV uint64) bundle.Manifest {
		return with(9, func(m *bundle.Manifest) { m.Kind, m.BaseVersion, m.ResultCount = bundle.Delta, baseV, 21 })
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"bad signature", flip(30), bundle.ErrBadSignature},
		{"unknown key", sealed(t, good(9), other, rec("a", ok)), bundle.ErrUnknownKey},
		{"truncated", valid[:len(valid)-200], bundle.ErrTruncated},
		{"truncated to the header", valid[:40], bundle.ErrTruncated},
		{"corrupted record", flip(len(valid) - 20), bundle.ErrCorrupt},
		{"not a bundle", []byte("hello"), bundle.ErrFormat},
		{"rollback: same version", bundleBytes(t, good(5), base), ErrRollback},
		{"rollback: older version", bundleBytes(t, good(3), base), ErrRollback},
		{"expired", sealed(t, with(9, func(m *bundle.Manifest) { m.Expires = testNow.Add(-time.Second) }), testSign, rec("a", ok)), bundle.ErrExpired},
		{"wrong model id", sealed(t, with(9, func(m *bundle.Manifest) { m.ModelID = "facenet" }), testSign, rec("a", ok)), bundle.ErrModel},
		{"wrong dimension", sealed(t, with(9, func(m *bundle.Manifest) { m.Dim = 128 }), testSign, rec("a", make([]float32, 128))), bundle.ErrModel},
		{"duplicate subject ids", sealed(t, good(9), testSign, rec("a", ok), rec("a", ok)), bundle.ErrDuplicate},
		{"NaN template", sealed(t, good(9), testSign, rec("a", nan)), bundle.ErrBadTemplate},
		{"Inf template", sealed(t, good(9), testSign, rec("a", inf)), bundle.ErrBadTemplate},
		{"zero template", sealed(t, good(9), testSign, rec("a", make([]float32, testDim))), bundle.ErrBadTemplate},
		{"delta against a missing base", bundleBytes(t, delta(4), []*bundle.Record{rec("zz", ok)}), ErrNoBase},
		{"delta removing an absent subject", bundleBytes(t, delta(5), []*bundle.Record{{Subject: "nobody", Remove: true}}), ErrNoBase},
		{"delta with a wrong result count", bundleBytes(t, with(9, func(m *bundle.Manifest) { m.Kind, m.BaseVersion, m.ResultCount = bundle.Delta, 5, 25 }), []*bundle.Record{rec("zz", ok)}), bundle.ErrCorrupt},
		{"bad record late in the stream", sealed(t, good(9), testSign, rec("a", ok), rec("b", ok), rec("c", nan)), bundle.ErrBadTemplate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, filepath.Join(t.TempDir(), "g.db"))
			if _, err := importBytes(s, bundleBytes(t, manifest(5), base)); err != nil {
				t.Fatal(err)
			}
			n0, d0, v0 := loaded(t, s)
			_, err := importBytes(s, tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Logf("refused: %v", err)
			if n, d, v := loaded(t, s); n != n0 || d != d0 || v != v0 {
				t.Fatalf("active gallery changed: %d records of v%d, was %d of v%d", n, v, n0, v0)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			if g := generations(t, s); g != 1 {
				t.Fatalf("%d generations left, want 1", g)
			}
		})
	}
}

func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	openStore(t, path)
	start := time.Now()
	_, err := Open(path, Options{Key: testKey(t), LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want ErrLocked naming the file", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("lock timeout not honoured")
	}
}

func TestWrongKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	s := openStore(t, path)
	if _, err := importBytes(s, bundleBytes(t, manifest(1), records("s", 3, 0))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	k, _ := NewKey(make([]byte, KeySize))
	if _, err := Open(path, Options{Key: k}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("got %v, want ErrWrongKey", err)
	}
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("opened without a key")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := GenerateKeyFile(p); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(p); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKeyFile(p); err == nil {
		t.Fatal("overwrote a key file")
	}
	os.Chmod(p, 0o640)
	if _, err := LoadKeyFile(p); err == nil || !strings.Contains(err.Error(), "0640") {
		t.Fatalf("0640 key file: %v", err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	if _, err := LoadKeyFile(short); err == nil {
		t.Fatal("accepted a 3-byte key")
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("accepted a missing key file")
	}
	cred := filepath.Join(dir, "creds")
	os.Mkdir(cred, 0o700)
	os.WriteFile(filepath.Join(cred, "gallery-key"), testRaw, 0o400)
	t.Setenv(CredentialEnv, cred)
	if _, err := LoadCredential("gallery-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCredential("../key"); err == nil {
		t.Fatal("accepted a credential path")
	}
	t.Setenv(CredentialEnv, "")
	if _, err := LoadCredential("gallery-key"); err == nil {
		t.Fatal("credential without $CREDENTIALS_DIRECTORY")
	}
}

func TestStatusDegraded(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "g.db"), Options{Key: testKey(t), MaxAge: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := s.Status(testNow); !st.Degraded || st.Active {
		t.Fatalf("empty store: %+v", st)
	}
	if _, err := importBytes(s, bundleBytes(t, manifest(1), records("s", 3, 0))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at       time.Time
		degraded bool
	}{
		{testNow, false},
		{testNow.Add(47 * time.Hour), false},
		{testNow.Add(50 * time.Hour), true},     // older than MaxAge
		{testNow.Add(8 * 24 * time.Hour), true}, // expired
	} {
		st, err := s.Status(tc.at)
		if err != nil || st.Degraded != tc.degraded || !st.Active {
			t.Errorf("at %v: %+v %v", tc.at, st, err)
		}
		// Degraded or not, the gallery still serves.
		if n, _, _ := loaded(t, s); n != 3 {
			t.Errorf("serving %d records", n)
		}
	}
}

// TestSwappedRecordsRefused: a stored ciphertext moved to another subject's
// key (or generation) does not open — the AAD binds both.
func TestSwappedRecordsRefused(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	if _, err := importBytes(s, bundleBytes(t, manifest(1), records("s", 3, 0))); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		a, err := activeGen(tx)
		if err != nil {
			return err
		}
		b := a.b.Bucket(bktSubjects)
		k1, k2 := []byte("s0000000"), []byte("s0000001")
		v1, v2 := slices.Clone(b.Get(k1)), slices.Clone(b.Get(k2))
		if err := b.Put(k1, v2); err != nil {
			return err
		}
		return b.Put(k2, v1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Each(func(*bundle.Record) error { return nil }); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("swapped records: %v", err)
	}
	if _, _, err := s.LoadIndex(t.Context(), testModel, testDim, testNow); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("swapped records, LoadIndex: %v", err)
	}
}

// TestLoadDuringImport: while an import writes its generation over many
// transactions, loads keep seeing the old gallery whole, then the new one.
func TestLoadDuringImport(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	v1, v2 := records("a", 500, 0), records("b", 700, 9)
	if _, err := importBytes(s, bundleBytes(t, manifest(1), v1)); err != nil {
		t.Fatal(err)
	}
	n1, d1 := digestRecords(v1)
	n2, d2 := digestRecords(v2)
	b2 := bundleBytes(t, manifest(2), v2)
	done := make(chan error)
	go func() { _, err := importBytes(s, b2); done <- err }()
	loads, sawOld := 0, 0
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		n, d, v := loaded(t, s)
		loads++
		switch {
		case v == 1 && n == n1 && d == d1:
			sawOld++
		case v == 2 && n == n2 && d == d2:
		default:
			t.Fatalf("load %d saw a mix: version %d, %d subjects", loads, v, n)
		}
	}
	if n, d, v := loaded(t, s); v != 2 || n != n2 || d != d2 {
		t.Fatalf("after import: version %d", v)
	}
	t.Logf("%d loads during the import, %d of them of the old gallery", loads, sawOld)
}
