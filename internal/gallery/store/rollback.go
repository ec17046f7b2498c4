package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/laned/laned/internal/safefile"
)

// Anti-rollback outside gallery.db. The highest gallery version ever
// activated, its manifest digest and its subject count are kept in a
// separate small file (path+RollbackSuffix unless Options.RollbackFile),
// sealed with the at-rest key (AES-256-GCM, so it is authenticated and
// cannot be forged without the key). Deleting gallery.db or restoring an
// old copy of it therefore neither re-opens the door to older bundles nor
// brings an older gallery back into service; a subject count edited in
// gallery.db is caught. Limit: deleting both files resets the record;
// only a monotonic counter the attacker cannot reset (a TPM NV counter,
// issue 14 item 4, open) would catch that.

// RollbackSuffix names the default anti-rollback record beside the store.
const RollbackSuffix = ".rollback"

const (
	rollbackMagic = "LANEDRB1"
	rollbackAAD   = "laned-gallery-rollback-v1"
	rollbackPlain = 8 + 32 + 8 // version, manifest digest, subjects
)

// rollbackRecord is the authenticated state.
type rollbackRecord struct {
	Version  uint64
	Manifest [32]byte
	Subjects uint64
}

// readRollback returns the record, nil when there is none.
func (s *Store) readRollback() (*rollbackRecord, error) {
	b, err := safefile.ReadFile(s.rbPath, 4<<10)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("anti-rollback record: %w", err)
	}
	if !bytes.HasPrefix(b, []byte(rollbackMagic)) {
		return nil, fmt.Errorf("anti-rollback record %s: not a record", s.rbPath)
	}
	p, err := s.key.open(nil, b[len(rollbackMagic):], []byte(rollbackAAD))
	if err != nil || len(p) != rollbackPlain {
		return nil, fmt.Errorf("anti-rollback record %s does not authenticate with the at-rest key (tampered, or another lane's): refusing to guess the highest gallery version", s.rbPath)
	}
	r := &rollbackRecord{Version: binary.BigEndian.Uint64(p), Subjects: binary.BigEndian.Uint64(p[40:])}
	copy(r.Manifest[:], p[8:40])
	return r, nil
}

// writeRollback replaces the record atomically (fsynced).
func (s *Store) writeRollback(r rollbackRecord) error {
	p := binary.BigEndian.AppendUint64(nil, r.Version)
	p = append(p, r.Manifest[:]...)
	p = binary.BigEndian.AppendUint64(p, r.Subjects)
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := s.key.seal([]byte(rollbackMagic), nonce, p, []byte(rollbackAAD))
	return safefile.WriteFile(s.rbPath, 0o600, func(w io.Writer) error { _, err := w.Write(sealed); return err })
}

// checkRollback runs at Open: it compares gallery.db with the record,
// takes the record's highest version as the floor for imports, and takes
// an active gallery that is older than the record, or whose subject count
// or manifest differ from it, out of service (the lane runs degraded with
// no gallery until the next sync). Without a record (first start, or an
// upgrade) it writes one from gallery.db.
func (s *Store) checkRollback() error {
	rec, err := s.readRollback()
	if err != nil {
		return err
	}
	var cur rollbackRecord
	var hi uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		hi = getU64(meta, keyHighest)
		a, err := activeGen(tx)
		if err != nil {
			return err
		}
		if a != nil {
			cur = rollbackRecord{Version: a.m.Version, Manifest: a.m.ManifestSHA256, Subjects: a.count}
		}
		if rec == nil {
			return nil
		}
		if hi < rec.Version {
			if err := putU64(meta, keyHighest, rec.Version); err != nil {
				return err
			}
		}
		switch {
		case a == nil:
		case a.m.Version < rec.Version:
			s.distrust = fmt.Sprintf("gallery.db (version %d) is older than the anti-rollback record (version %d): restored from an old copy or replaced; no gallery until the next sync", a.m.Version, rec.Version)
		case a.m.Version == rec.Version && (a.count != rec.Subjects || a.m.ManifestSHA256 != rec.Manifest):
			s.distrust = fmt.Sprintf("gallery version %d: subject count %d or manifest in gallery.db differ from the authenticated record (%d subjects): tampered; no gallery until the next sync", a.m.Version, a.count, rec.Subjects)
		}
		if s.distrust != "" {
			return putU64(meta, keyActive, 0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.distrust != "" {
		s.log.Error("gallery taken out of service", "reason", s.distrust, "record", s.rbPath)
	}
	s.floor = max(hi, cur.Version)
	if rec != nil {
		s.floor = max(s.floor, rec.Version)
		if cur.Version > rec.Version { // the last record write had failed
			return s.writeRollback(cur)
		}
		return nil
	}
	if cur.Version == 0 && hi == 0 {
		return nil // nothing activated yet
	}
	s.log.Warn("no anti-rollback record: writing one from gallery.db", "record", s.rbPath, "version", max(hi, cur.Version))
	if cur.Version < hi {
		cur = rollbackRecord{Version: hi}
	}
	return s.writeRollback(cur)
}

// checkFloor refuses a bundle version at or below the record's highest.
func (s *Store) checkFloor(v uint64) error {
	if v <= s.floor {
		return fmt.Errorf("%w: bundle version %d, this lane has already activated version %d (anti-rollback record)", ErrRollback, v, s.floor)
	}
	return nil
}

// activated records a newly active gallery.
func (s *Store) activated(v uint64, manifest [32]byte, subjects uint64) {
	s.floor = max(s.floor, v)
	s.distrust = ""
	if err := s.writeRollback(rollbackRecord{Version: v, Manifest: manifest, Subjects: subjects}); err != nil {
		s.log.Error("cannot write the anti-rollback record; gallery.db still refuses older bundles", "record", s.rbPath, "err", err)
	}
}
