package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackAfterRestoringOldStore: a gallery.db restored from an old
// copy neither serves its old gallery nor lets an older bundle in: the
// authenticated record outside the file remembers the highest version.
func TestRollbackAfterRestoringOldStore(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gallery.db")
	s := openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(3), records("S", 20, 1))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	copyFile(t, p, filepath.Join(dir, "old-copy.db"))
	s = openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(5), records("S", 25, 2))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	copyFile(t, filepath.Join(dir, "old-copy.db"), p) // the attacker restores version 3

	s = openStore(t, p)
	st, err := s.Status(testNow)
	if err != nil {
		t.Fatal(err)
	}
	if st.Active || !st.Degraded || !strings.Contains(st.Reason, "older than") || st.Highest < 5 {
		t.Errorf("restored old store: %+v", st)
	}
	if _, err := importBytes(s, bundleBytes(t, manifest(4), records("S", 20, 3))); !errors.Is(err, ErrRollback) {
		t.Errorf("version 4 after 5 accepted: %v", err)
	}
	if _, err := importBytes(s, bundleBytes(t, manifest(6), records("S", 20, 4))); err != nil {
		t.Errorf("the next real gallery: %v", err)
	}
}

// TestRollbackAfterDeletingStore: deleting gallery.db does not reopen the
// door to older bundles.
func TestRollbackAfterDeletingStore(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gallery.db")
	s := openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(5), records("S", 20, 1))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(p)
	s = openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(2), records("S", 20, 3))); !errors.Is(err, ErrRollback) {
		t.Errorf("version 2 after 5 accepted: %v", err)
	}
}

// TestSubjectCountAuthenticated: the active gallery's subject count (kept
// in the clear in gallery.db) must match the authenticated record.
func TestSubjectCountAuthenticated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gallery.db")
	s := openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(3), records("S", 20, 1))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		a, err := activeGen(tx)
		if err != nil || a == nil {
			t.Fatalf("no active generation: %v", err)
		}
		return putU64(a.b, keyCount, 999)
	})
	db.Close()
	s = openStore(t, p)
	st, _ := s.Status(testNow)
	if st.Active || st.Subjects == 999 || !strings.Contains(st.Reason, "subject count") {
		t.Errorf("tampered count: %+v", st)
	}
}

// TestRollbackRecordTampered: a record that does not authenticate with the
// at-rest key is an error naming it, not a reset.
func TestRollbackRecordTampered(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gallery.db")
	s := openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(3), records("S", 5, 1))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rp := p + RollbackSuffix
	b, err := os.ReadFile(rp)
	if err != nil {
		t.Fatalf("no anti-rollback record: %v", err)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(rp, b, 0o600)
	if _, err := Open(p, Options{Key: testKey(t)}); err == nil || !strings.Contains(err.Error(), rp) {
		t.Errorf("tampered record: %v", err)
	}
}
