package boltcheck

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// sample builds a real bbolt file: nested and inline buckets, many keys
// (branch pages) and values over a page (overflow pages).
func sample(t testing.TB) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.db")
	db, err := bolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		a, _ := tx.CreateBucketIfNotExists([]byte("a"))
		for i := range 600 {
			a.Put(fmt.Appendf(nil, "key-%05d", i), bytes.Repeat([]byte{byte(i)}, 40))
		}
		a.Put([]byte("big"), bytes.Repeat([]byte("B"), 20000))
		n, _ := a.CreateBucketIfNotExists([]byte("nested"))
		n.Put([]byte("x"), []byte("y"))
		small, _ := tx.CreateBucketIfNotExists([]byte("inline"))
		small.Put([]byte("k"), []byte("v"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openAndRead opens b with bbolt and reads every key of every bucket; it
// reports a panic as an error.
func openAndRead(t testing.TB, b []byte) (err error) {
	p := filepath.Join(t.TempDir(), "d.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(b.Bucket(k))
			}
			return nil
		})
	}
	return db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
}

type damage struct {
	name string
	f    func(b []byte, ps int) []byte
}

func damages(b []byte, ps int) []damage {
	pages := len(b) / ps
	var ds []damage
	for _, n := range []int{0, 1, 100, ps - 1, ps, 2*ps + 7, 4 * ps, len(b) / 2, len(b) - ps, len(b) - 1} {
		ds = append(ds, damage{fmt.Sprintf("truncated to %d", n), func(b []byte, _ int) []byte { return b[:n] }})
	}
	for i := range pages {
		ds = append(ds, damage{fmt.Sprintf("page %d zeroed", i), func(b []byte, ps int) []byte {
			clear(b[i*ps : (i+1)*ps])
			return b
		}})
		ds = append(ds, damage{fmt.Sprintf("page %d garbage", i), func(b []byte, ps int) []byte {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for j := i * ps; j < (i+1)*ps; j++ {
				b[j] = byte(r.Uint32())
			}
			return b
		}})
		ds = append(ds, damage{fmt.Sprintf("page %d header flipped", i), func(b []byte, ps int) []byte {
			for j := i * ps; j < i*ps+16; j++ {
				b[j] ^= 0xff
			}
			return b
		}})
	}
	ds = append(ds,
		damage{"both metas zeroed", func(b []byte, ps int) []byte { clear(b[:2*ps]); return b }},
		damage{"all garbage", func(b []byte, _ int) []byte {
			r := rand.New(rand.NewPCG(7, 7))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			return b
		}},
		damage{"all zero", func(b []byte, _ int) []byte { clear(b); return b }},
		damage{"high water mark raised", func(b []byte, ps int) []byte {
			// a valid checksum over a lie: pgid past the end of the file
			for _, off := range []int{0, ps} {
				m := b[off+16:]
				m[40] += 100
				fixChecksum(m)
			}
			return b
		}},
	)
	return ds
}

// TestDamagePatterns: every damaged file is either refused by Check with
// an ErrDamaged error, or (a damaged page bbolt never reads, a meta page
// it can do without) opens and reads without a panic. An intact file
// passes.
func TestDamagePatterns(t *testing.T) {
	orig := sample(t)
	ps := os.Getpagesize()
	if _, err := Check(bytes.NewReader(orig), int64(len(orig))); err != nil {
		t.Fatalf("intact file refused: %v", err)
	}
	refused := 0
	ds := damages(orig, ps)
	for _, d := range ds {
		b := d.f(bytes.Clone(orig), ps)
		_, err := Check(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Errorf("%s: error %v does not wrap ErrDamaged", d.name, err)
			}
			refused++
			continue
		}
		if err := openAndRead(t, b); err != nil && !errors.Is(err, berrors.ErrInvalid) {
			t.Errorf("%s: Check passed but bbolt fails: %v", d.name, err)
		}
	}
	t.Logf("%d damage patterns over a %d-page file, %d refused by Check, the rest harmless to bbolt", len(ds), len(orig)/ps, refused)
	if refused < len(ds)/2 {
		t.Errorf("only %d of %d refused", refused, len(ds))
	}
}

// FuzzCheck damages a real bbolt file (a run of bytes xored, then cut to
// a length): whatever Check lets through, bbolt opens and reads without a
// panic. The file is fixed (small fuzz inputs run fast); the fuzzer
// chooses where and how it is damaged.
func FuzzCheck(f *testing.F) {
	orig := sample(f)
	f.Add(uint32(0), uint16(0), byte(0), uint32(len(orig)))
	f.Add(uint32(4096), uint16(16), byte(0xff), uint32(len(orig)))
	f.Add(uint32(len(orig)/2), uint16(4096), byte(0), uint32(len(orig)))
	f.Add(uint32(0), uint16(0), byte(0), uint32(len(orig)-4096))
	f.Fuzz(func(t *testing.T, off uint32, n uint16, x byte, size uint32) {
		b := bytes.Clone(orig)
		if int(off) < len(b) {
			for i := int(off); i < min(len(b), int(off)+int(n)); i++ {
				b[i] ^= x
			}
		}
		b = b[:min(len(b), int(size))]
		if _, err := Check(bytes.NewReader(b), int64(len(b))); err != nil {
			return
		}
		if err := openAndRead(t, b); err != nil && !errors.Is(err, berrors.ErrInvalid) {
			t.Fatalf("Check passed, bbolt: %v", err)
		}
	})
}
