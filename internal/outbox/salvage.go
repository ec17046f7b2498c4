package outbox

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"

	"github.com/laned/laned/internal/boltcheck"
)

// Recovery reports what Open did with a damaged outbox file: it was moved
// aside (kept for inspection), every record still readable (its checksum
// intact) was re-queued in a fresh file with its message id and sequence
// (consumers drop duplicates by message id: a record acknowledged just
// before the damage may come back), and the records seen but unreadable
// are counted as lost with their sequence range. The fresh outbox's
// sequence continues past a gap above every sequence used before.
type Recovery struct {
	MovedTo   string
	Cause     string
	At        time.Time
	Salvaged  int    // records re-queued
	Lost      int    // records seen whose content is unreadable
	LostFirst uint64 // their lowest sequence (0 when none)
	LostLast  uint64 // their highest sequence
}

// Recovered returns the recovery Open made, or nil; the daemon turns it
// into a fault event.
func (o *Outbox) Recovered() *Recovery { return o.recovered }

// recoverDamaged runs before bbolt maps path: a damaged file (boltcheck,
// pread only, so it cannot fault) is moved aside and salvaged into a fresh
// file at path.
func recoverDamaged(path string, opts Options) (*Recovery, error) {
	now := opts.Clock.Now()
	moved, cause, err := boltcheck.Guard(path, opts.LockTimeout, now)
	if errors.Is(err, boltcheck.ErrLocked) {
		return nil, fmt.Errorf("outbox: open %s: %w (waited %s)", path, ErrLocked, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	if moved == "" {
		return nil, nil
	}
	rec := &Recovery{MovedTo: moved, Cause: cause.Error(), At: now.UTC()}
	good, lost := salvageRecords(moved)
	for seq := range lost {
		if _, ok := good[seq]; ok {
			delete(lost, seq) // a readable copy elsewhere
			continue
		}
		rec.Lost++
		if rec.LostFirst == 0 || seq < rec.LostFirst {
			rec.LostFirst = seq
		}
		rec.LostLast = max(rec.LostLast, seq)
	}
	if err := writeSalvaged(path, good, opts); err != nil {
		return nil, fmt.Errorf("outbox: open %s: salvage into a fresh file: %w", path, err)
	}
	rec.Salvaged = len(good)
	opts.Logger.Error("outbox damaged: moved aside, readable records re-queued in a fresh outbox",
		"component", "outbox", "path", path, "moved_to", moved, "cause", cause,
		"salvaged", rec.Salvaged, "lost", rec.Lost, "lost_first_seq", rec.LostFirst, "lost_last_seq", rec.LostLast)
	return rec, nil
}

// salvageRecords scans every page of the damaged file for records: a
// value under an 8-byte key that decodes (checksum, lengths) is good; one
// that does not is lost. Of several copies of a seq (old pages), the one
// with the most attempts wins.
func salvageRecords(path string) (good map[uint64]Message, lost map[uint64]bool) {
	good, lost = map[uint64]Message{}, map[uint64]bool{}
	f, err := os.Open(path)
	if err != nil {
		return good, lost
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return good, lost
	}
	boltcheck.Scan(f, st.Size(), func(k, v []byte) {
		seq, ok := seqOf(k)
		if !ok || seq == 0 || string(k) == string(keyCounters) {
			return
		}
		m, err := decodeRecord(seq, v)
		if err != nil {
			lost[seq] = true
			return
		}
		if old, ok := good[seq]; !ok || m.Attempts > old.Attempts {
			good[seq] = m
		}
	})
	return good, lost
}

// writeSalvaged creates a fresh outbox file at path holding msgs. It
// writes no seq counter: load then continues past a gap above the highest
// stored seq, so no sequence handed out before is reused.
func writeSalvaged(path string, msgs map[uint64]Message, opts Options) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keyFormat, []byte{formatVersion}); err != nil {
			return err
		}
		for _, k := range allKinds {
			if _, err := tx.CreateBucketIfNotExists(bucketOf(k)); err != nil {
				return err
			}
		}
		for seq, m := range msgs {
			m.Seq = seq
			b, err := encodeRecord(&m)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketOf(m.Kind)).Put(key(seq), b); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}
