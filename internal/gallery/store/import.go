package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultBatch is how many records one import transaction writes.
const DefaultBatch = 20000

// Import verifies the bundle read from src against v and the store's state
// (anti-rollback, delta base), writes it as a new generation over several
// transactions in sorted key order, checks the count and digest, then
// activates it in one small transaction and frees the previous generation.
// On any error the active gallery is untouched and the partial generation
// removed (or, after a crash, removed by the next Open).
func (s *Store) Import(ctx context.Context, src io.Reader, v bundle.VerifyOptions) (*bundle.Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	r, err := bundle.NewReader(src, v)
	if err != nil {
		return nil, fmt.Errorf("import gallery: %w", err)
	}
	m := r.Manifest()
	log := s.log.With("version", m.Version, "kind", m.Kind.String(), "records", m.RecordCount)
	var base *gen
	err = s.db.View(func(tx *bolt.Tx) error {
		a, err := activeGen(tx)
		if err != nil {
			return err
		}
		if hi := getU64(tx.Bucket(bktMeta), keyHighest); m.Version <= hi {
			return fmt.Errorf("%w: bundle version %d, this lane has already activated version %d", ErrRollback, m.Version, hi)
		}
		if err := s.checkFloor(m.Version); err != nil {
			return err
		}
		if m.Kind == bundle.Delta {
			if a == nil {
				return fmt.Errorf("%w: delta against version %d, the lane has no gallery", ErrNoBase, m.BaseVersion)
			}
			if a.m.Version != m.BaseVersion {
				return fmt.Errorf("%w: delta against version %d, the lane has version %d", ErrNoBase, m.BaseVersion, a.m.Version)
			}
			base = &gen{id: a.id, m: a.m, count: a.count}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import gallery version %d: %w", m.Version, err)
	}

	var g uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		g = max(getU64(meta, keyNextGen), 1)
		if err := putU64(meta, keyNextGen, g+1); err != nil {
			return err
		}
		if err := putU64(meta, keyWriting, g); err != nil {
			return err
		}
		b, err := tx.CreateBucket(genName(g))
		if err != nil {
			return err
		}
		_, err = b.CreateBucket(bktSubjects)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("import gallery version %d: start generation: %w", m.Version, err)
	}
	w := &genWriter{s: s, gen: g, batch: s.batch}
	if base != nil {
		w.base = base.id
	}
	if err := w.writeAll(ctx, r); err != nil {
		s.abandon(g)
		return nil, fmt.Errorf("import gallery version %d: %w", m.Version, err)
	}
	want := m.ResultCount
	var old uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(genName(g))
		if n := uint64(b.Bucket(bktSubjects).Stats().KeyN); n != want || w.written != want {
			return fmt.Errorf("%w: generation holds %d subjects (wrote %d), manifest says %d", bundle.ErrCorrupt, n, w.written, want)
		}
		mj, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := b.Put(keyManifest, mj); err != nil {
			return err
		}
		if err := putU64(b, keyCount, want); err != nil {
			return err
		}
		meta := tx.Bucket(bktMeta)
		old = getU64(meta, keyActive)
		if err := putU64(meta, keyActive, g); err != nil {
			return err
		}
		if err := putU64(meta, keyHighest, m.Version); err != nil {
			return err
		}
		return meta.Delete(keyWriting)
	})
	if err != nil {
		s.abandon(g)
		return nil, fmt.Errorf("import gallery version %d: activate: %w", m.Version, err)
	}
	if old != 0 {
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(genName(old)) }); err != nil {
			log.Warn("cannot free the previous generation; the next open will", "generation", old, "err", err)
		}
	}
	s.activated(m.Version, m.ManifestSHA256, want)
	log.Info("gallery activated", "subjects", want, "generation", g, "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// abandon removes a generation that will not be activated.
func (s *Store) abandon(g uint64) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(genName(g)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		return tx.Bucket(bktMeta).Delete(keyWriting)
	})
	if err != nil {
		s.log.Warn("cannot remove the abandoned generation; the next open will", "generation", g, "err", err)
	}
}

type op struct {
	subject []byte
	plain   []byte // nil: remove
}

// genWriter fills generation gen, merging with generation base for a delta.
type genWriter struct {
	s        *Store
	gen      uint64
	base     uint64 // 0: full bundle
	batch    int
	pending  []op
	lastBase []byte // last base key consumed
	baseDone bool
	written  uint64
	aad      []byte
	nonces   []byte
}

func (w *genWriter) writeAll(ctx context.Context, r *bundle.Reader) error {
	if w.batch <= 0 {
		w.batch = DefaultBatch
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		o := op{subject: []byte(rec.Subject)}
		if !rec.Remove {
			o.plain = bytes.Clone(r.Raw())
		}
		w.pending = append(w.pending, o)
		if len(w.pending) >= w.batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := w.flush(false); err != nil {
				return err
			}
		}
	}
	// The whole bundle verified: write what is pending and the rest of the
	// base, a batch per transaction.
	if err := w.flush(false); err != nil {
		return err
	}
	for w.base != 0 && !w.baseDone {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.flush(true); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the pending ops in one transaction; with rest it copies up to
// a batch of the remaining base records instead.
func (w *genWriter) flush(rest bool) error {
	if len(w.pending) == 0 && !rest {
		return nil
	}
	err := w.s.db.Update(func(tx *bolt.Tx) error {
		dst := tx.Bucket(genName(w.gen)).Bucket(bktSubjects)
		dst.FillPercent = 1 // keys arrive in order: fill pages, don't half-split them
		var cur *bolt.Cursor
		var bk, bv []byte
		if w.base != 0 {
			cur = tx.Bucket(genName(w.base)).Bucket(bktSubjects).Cursor()
			if w.lastBase == nil {
				bk, bv = cur.First()
			} else if bk, bv = cur.Seek(w.lastBase); bk != nil && bytes.Equal(bk, w.lastBase) {
				bk, bv = cur.Next()
			}
		}
		copyBase := func() error {
			plain, err := w.s.key.open(nil, bv, recordAAD(w.aad, w.base, bk))
			if err != nil {
				return fmt.Errorf("%w: base record %q does not decrypt", ErrDamaged, bk)
			}
			if err := w.put(dst, bk, plain); err != nil {
				return err
			}
			w.lastBase = append(w.lastBase[:0], bk...)
			bk, bv = cur.Next()
			return nil
		}
		if rest {
			for n := 0; bk != nil && n < w.batch; n++ {
				if err := copyBase(); err != nil {
					return err
				}
			}
			w.baseDone = bk == nil
			return nil
		}
		for _, o := range w.pending {
			for cur != nil && bk != nil && bytes.Compare(bk, o.subject) < 0 {
				if err := copyBase(); err != nil {
					return err
				}
			}
			inBase := cur != nil && bk != nil && bytes.Equal(bk, o.subject)
			if inBase {
				w.lastBase = append(w.lastBase[:0], bk...)
				bk, bv = cur.Next()
			}
			if o.plain == nil {
				if !inBase {
					return fmt.Errorf("%w: delta removes subject %q, which the base does not have", ErrNoBase, o.subject)
				}
				continue
			}
			if err := w.put(dst, o.subject, o.plain); err != nil {
				return err
			}
		}
		return nil
	})
	w.pending = w.pending[:0]
	return err
}

func (w *genWriter) put(dst *bolt.Bucket, subject, plain []byte) error {
	if len(w.nonces) < nonceSize {
		w.nonces = make([]byte, nonceSize*4096)
		rand.Read(w.nonces)
	}
	nonce := w.nonces[:nonceSize]
	w.nonces = w.nonces[nonceSize:]
	w.aad = recordAAD(w.aad, w.gen, subject)
	v := w.s.key.seal(make([]byte, 0, nonceSize+len(plain)+16), nonce, plain, w.aad)
	if err := dst.Put(subject, v); err != nil {
		return fmt.Errorf("store subject %q: %w", subject, err)
	}
	w.written++
	return nil
}
