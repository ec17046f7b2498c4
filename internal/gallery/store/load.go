package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
	return s.walk(nil,
		func(c *chunk, _ []byte, plain []byte, dim int) error {
			rec, err := bundle.DecodeRecord(plain, dim, bundle.Full)
			if err != nil {
				return err
			}
			c.recs = append(c.recs, rec)
			c.subjects = append(c.subjects, rec.Subject)
			return nil
		},
		func(c *chunk) error {
			for _, r := range c.recs {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		})
}

// LoadIndex builds a match index of the active gallery for a recogniser
// with the given model id and dimension, leaving out subjects whose
// validity window does not contain now. The caller keeps serving its old
// index until this returns, then swaps (package gallery/active). A
// cancelled ctx stops the walk with ctx's error.
func (s *Store) LoadIndex(ctx context.Context, modelID string, dim int, now time.Time) (*match.Index, *bundle.Manifest, error) {
	l, err := s.Load(ctx, modelID, dim, now)
	if err != nil {
		return nil, nil, err
	}
	return l.Index, l.Manifest, nil
}

// Loaded is what Load built.
type Loaded struct {
	Index    *match.Index
	Manifest *bundle.Manifest
	// NextBoundary is the earliest valid_from or valid_until of a stored
	// subject after now: the index must be rebuilt then. Zero: none.
	NextBoundary time.Time
	Skipped      int // subjects outside their validity window at now
}

// Load is LoadIndex that also reports when the index stops being right.
func (s *Store) Load(ctx context.Context, modelID string, dim int, now time.Time) (Loaded, error) {
	var b *match.Builder
	skipped := 0
	var next atomic.Int64 // earliest boundary after now, unix seconds; 0: none (decode runs on all cores)
	after := func(v int64) {
		for cur := next.Load(); v > now.Unix() && (cur == 0 || v < cur); cur = next.Load() {
			if next.CompareAndSwap(cur, v) {
				return
			}
		}
	}
	start := func(m *bundle.Manifest, count uint64) error {
		if m.ModelID != modelID || m.Dim != dim {
			return fmt.Errorf("%w: active gallery version %d was made for %q (%d-D), lane runs %q (%d-D)", bundle.ErrModel, m.Version, m.ModelID, m.Dim, modelID, dim)
		}
		b = match.NewBuilder(dim, int(count))
		return nil
	}
	unix := now.Unix()
	m, err := s.walk(start,
		func(c *chunk, _ []byte, plain []byte, dim int) error {
			sc, flat, err := bundle.ScanRecord(plain, dim, c.flat)
			if err != nil {
				return err
			}
			after(sc.ValidFrom)
			after(sc.ValidUntil)
			if (sc.ValidFrom != 0 && unix < sc.ValidFrom) || (sc.ValidUntil != 0 && unix >= sc.ValidUntil) {
				c.flat = flat[:len(c.flat)]
				c.skipped++
				return nil
			}
			c.flat = flat
			c.subjects = append(c.subjects, sc.Subject)
			c.ntmpl = append(c.ntmpl, int32(sc.Templates))
			return nil
		},
		func(c *chunk) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			skipped += c.skipped
			off := 0
			for i, subj := range c.subjects {
				for range c.ntmpl[i] {
					if err := b.Add(subj, c.flat[off:off+dim]); err != nil {
						return err
					}
					off += dim
				}
			}
			return nil
		})
	if err != nil {
		return Loaded{}, err
	}
	ix, err := b.Build()
	if err != nil {
		return Loaded{}, fmt.Errorf("load gallery: %w", err)
	}
	s.log.Info("gallery index built", "version", m.Version, "templates", ix.Len(), "subjects", ix.Subjects(), "outside_validity", skipped)
	l := Loaded{Index: ix, Manifest: m, Skipped: skipped}
	if v := next.Load(); v != 0 {
		l.NextBoundary = time.Unix(v, 0)
	}
	return l, nil
}

// walk decrypts the active generation's records on all cores: decode
// runs in the workers on each decrypted record (appending to its chunk),
// consume runs in key order on the caller's goroutine. start is called
// first with the manifest and count.
func (s *Store) walk(start func(*bundle.Manifest, uint64) error,
	decode func(c *chunk, key, plain []byte, dim int) error,
	consume func(c *chunk) error) (*bundle.Manifest, error) {
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
		n, err := s.decryptAll(a, decode, consume)
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

// chunk is a run of stored records decrypted and decoded by one worker.
type chunk struct {
	keys, vals [][]byte // mmap-backed, valid during the read transaction
	subjects   []string // decoded records' subjects, in key order
	recs       []*bundle.Record
	flat       []float32 // templates, dim each
	ntmpl      []int32   // templates per subject
	skipped    int
	err        error
	done       chan struct{}
}

const chunkSize = 512

func (s *Store) decryptAll(a *gen, decode func(c *chunk, key, plain []byte, dim int) error, consume func(c *chunk) error) (uint64, error) {
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
				for i, k := range c.keys {
					var err error
					aad = recordAAD(aad, a.id, k)
					plain, err = s.key.open(plain[:0], c.vals[i], aad)
					if err != nil {
						c.err = fmt.Errorf("%w: subject %q does not decrypt with this key (or was moved)", ErrWrongKey, k)
						break
					}
					n := len(c.subjects) + c.skipped
					if err := decode(c, k, plain, a.m.Dim); err != nil {
						c.err = fmt.Errorf("%w: subject %q: %v", ErrDamaged, k, err)
						break
					}
					if len(c.subjects) > n && c.subjects[n] != string(k) {
						c.err = fmt.Errorf("%w: key %q holds subject %q", ErrDamaged, k, c.subjects[n])
						break
					}
				}
				close(c.done)
			}
		}()
	}
	// Chunks are recycled once consumed, so the decoded templates (the
	// bulk of a gallery) are not garbage for the GC to let pile up.
	free := make(chan *chunk, 3*workers+2)
	fresh := func() *chunk {
		select {
		case c := <-free:
			c.keys, c.vals, c.subjects, c.recs = c.keys[:0], c.vals[:0], c.subjects[:0], c.recs[:0]
			c.flat, c.ntmpl, c.skipped, c.err = c.flat[:0], c.ntmpl[:0], 0, nil
			c.done = make(chan struct{})
			return c
		default:
			return &chunk{done: make(chan struct{})}
		}
	}
	go func() { // dispatcher: cut the cursor into chunks
		defer close(order)
		defer close(jobs)
		cur := a.b.Bucket(bktSubjects).Cursor()
		c := fresh()
		send := func() bool {
			select {
			case order <- c:
			case <-stop:
				return false
			}
			jobs <- c
			c = fresh()
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
			if err = consume(c); err == nil {
				n += uint64(len(c.keys))
			}
		}
		clear(c.recs) // the caller owns the records now
		clear(c.subjects)
		select {
		case free <- c:
		default:
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
