package store

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/match"
	bolt "go.etcd.io/bbolt"
)

// Each calls fn with every record of the active generation in subject
// order, decrypted and checked, inside one read transaction (an import may
// run meanwhile; it does not change what Each sees). It returns the active
// manifest, or ErrNoGallery. A record that fails to decrypt or parse stops
// the walk with an error wrapping ErrWrongKey or ErrDamaged: never garbage.
func (s *Store) Each(fn func(*bundle.Record) error) (*bundle.Manifest, error) {
	return s.walk(nil, fn)
}

// walk is Each with start called with the manifest and count first.
func (s *Store) walk(start func(*bundle.Manifest, uint64) error, fn func(*bundle.Record) error) (*bundle.Manifest, error) {
	var m *bundle.Manifest
	err := s.db.View(func(tx *bolt.Tx) error {
		a, err := activeGen(tx)
		if err != nil {
			return err
		}
		if a == nil {
			return ErrNoGallery
		}
		m = a.m
		if start != nil {
			if err := start(a.m, a.count); err != nil {
				return err
			}
		}
		n, err := s.decryptAll(a, fn)
		if err != nil {
			return err
		}
		if n != a.count {
			return fmt.Errorf("%w: %d subjects stored, generation says %d", ErrDamaged, n, a.count)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load gallery: %w", err)
	}
	return m, nil
}

// LoadIndex builds a match index of the active gallery for a recogniser
// with the given model id and dimension, leaving out subjects whose
// validity window does not contain now. The caller keeps serving its old
// index until this returns, then swaps (match.Live.Swap).
func (s *Store) LoadIndex(modelID string, dim int, now time.Time) (*match.Index, *bundle.Manifest, error) {
	var b *match.Builder
	skipped := 0
	start := func(m *bundle.Manifest, count uint64) error {
		if m.ModelID != modelID || m.Dim != dim {
			return fmt.Errorf("%w: active gallery version %d was made for %q (%d-D), lane runs %q (%d-D)", bundle.ErrModel, m.Version, m.ModelID, m.Dim, modelID, dim)
		}
		b = match.NewBuilder(dim, int(count))
		return nil
	}
	m, err := s.walk(start, func(r *bundle.Record) error {
		if (!r.ValidFrom.IsZero() && now.Before(r.ValidFrom)) || (!r.ValidUntil.IsZero() && !now.Before(r.ValidUntil)) {
			skipped++
			return nil
		}
		for _, t := range r.Templates {
			if err := b.Add(r.Subject, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	ix, err := b.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("load gallery: %w", err)
	}
	s.log.Info("gallery index built", "version", m.Version, "templates", ix.Len(), "subjects", ix.Subjects(), "outside_validity", skipped)
	return ix, m, nil
}

// chunk is a run of stored records decrypted and parsed by one worker.
type chunk struct {
	keys, vals [][]byte // mmap-backed, valid during the read transaction
	recs       []*bundle.Record
	err        error
	done       chan struct{}
}

const chunkSize = 512

// decryptAll decrypts and parses generation a's records on all cores and
// hands them to fn in key order, within the caller's read transaction.
func (s *Store) decryptAll(a *gen, fn func(*bundle.Record) error) (uint64, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan *chunk, workers)
	order := make(chan *chunk, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var aad, plain []byte
			for c := range jobs {
				c.recs = make([]*bundle.Record, len(c.keys))
				for i, k := range c.keys {
					var err error
					aad = recordAAD(aad, a.id, k)
					plain, err = s.key.open(plain[:0], c.vals[i], aad)
					if err != nil {
						c.err = fmt.Errorf("%w: subject %q does not decrypt with this key (or was moved)", ErrWrongKey, k)
						break
					}
					rec, err := bundle.DecodeRecord(plain, a.m.Dim, bundle.Full)
					if err != nil {
						c.err = fmt.Errorf("%w: subject %q: %v", ErrDamaged, k, err)
						break
					}
					if rec.Subject != string(k) {
						c.err = fmt.Errorf("%w: key %q holds subject %q", ErrDamaged, k, rec.Subject)
						break
					}
					c.recs[i] = rec
				}
				close(c.done)
			}
		}()
	}
	go func() { // dispatcher: cut the cursor into chunks
		defer close(order)
		defer close(jobs)
		cur := a.b.Bucket(bktSubjects).Cursor()
		c := &chunk{done: make(chan struct{})}
		send := func() bool {
			select {
			case order <- c:
			case <-stop:
				return false
			}
			jobs <- c
			c = &chunk{done: make(chan struct{})}
			return true
		}
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			c.keys, c.vals = append(c.keys, k), append(c.vals, v)
			if len(c.keys) == chunkSize && !send() {
				return
			}
		}
		if len(c.keys) > 0 {
			send()
		}
	}()
	var n uint64
	var err error
	for c := range order {
		<-c.done
		if err == nil && c.err != nil {
			err = c.err
		}
		if err == nil {
			for _, r := range c.recs {
				if err = fn(r); err != nil {
					break
				}
				n++
			}
		}
		if err != nil {
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
	}
	wg.Wait()
	return n, err
}
