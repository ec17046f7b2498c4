package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors the store refuses with, beside the bundle package's.
var (
	ErrLocked    = errors.New("gallery store is locked by another process")
	ErrWrongKey  = errors.New("wrong gallery key")
	ErrRollback  = errors.New("gallery version does not increase")
	ErrNoBase    = errors.New("delta base not present")
	ErrNoGallery = errors.New("no active gallery")
	ErrDamaged   = errors.New("stored gallery damaged")
)

// Bucket and key names; see docs/gallery-bundle.md ("bbolt layout").
var (
	bktMeta     = []byte("meta")
	keyFormat   = []byte("format")
	keyCheck    = []byte("keycheck")
	keyActive   = []byte("active")
	keyHighest  = []byte("highest")
	keyNextGen  = []byte("nextgen")
	keyWriting  = []byte("writing")
	bktSubjects = []byte("subjects")
	keyManifest = []byte("manifest")
	keyCount    = []byte("count")
	genPrefix   = "gen-"
	layoutV1    = []byte("1")
)

func genName(g uint64) []byte { return fmt.Appendf(nil, "%s%016x", genPrefix, g) }

// Options configure Open.
type Options struct {
	Key         *Key          // at-rest key; required
	LockTimeout time.Duration // how long to wait for another process's lock; default 2s
	MaxAge      time.Duration // active gallery older than this (since created) makes Status degraded; 0: only expiry
	// RollbackFile is the anti-rollback record (default path+RollbackSuffix);
	// put it on another file system than the store where possible.
	RollbackFile string
	Batch        int // records per import transaction; default DefaultBatch
	Log          *slog.Logger
}

// Store is the lane's gallery database. It is safe for concurrent use;
// imports are serialised.
type Store struct {
	db     *bolt.DB
	key    *Key
	path   string
	maxAge time.Duration
	batch  int
	log    *slog.Logger
	mu     sync.Mutex // serialises Import
	closed sync.Once

	recovered *Recovery // set when Open moved a damaged file aside
	rbPath    string    // anti-rollback record
	floor     uint64    // highest version activated, from the record too
	distrust  string    // why the active gallery was taken out of service
}

// Open opens (creating if needed) the store at path, checks the key against
// the stored key check value and removes any generation an interrupted
// import or free left behind.
func Open(path string, opts Options) (*Store, error) {
	if opts.Key == nil {
		return nil, fmt.Errorf("open gallery store %s: no key", path)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	rec, err := guard(path, opts)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open gallery store %s: %w (waited %v; is laned running?)", path, ErrLocked, opts.LockTimeout)
		}
		return nil, fmt.Errorf("open gallery store %s: %w", path, err)
	}
	s := &Store{db: db, key: opts.Key, path: path, maxAge: opts.MaxAge, batch: opts.Batch, log: opts.Log.With("store", path), recovered: rec,
		rbPath: opts.RollbackFile}
	if s.rbPath == "" {
		s.rbPath = path + RollbackSuffix
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open gallery store %s: %w", path, err)
	}
	if err := s.checkRollback(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open gallery store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bktMeta)
		if err != nil {
			return err
		}
		if f := meta.Get(keyFormat); f == nil {
			if err := meta.Put(keyFormat, layoutV1); err != nil {
				return err
			}
		} else if string(f) != string(layoutV1) {
			return fmt.Errorf("layout version %q, this laned reads %q", f, layoutV1)
		}
		if kc := meta.Get(keyCheck); kc == nil {
			if err := meta.Put(keyCheck, s.key.checkValue()); err != nil {
				return err
			}
		} else if !s.key.verifyCheck(kc) {
			return fmt.Errorf("%w: the key does not open this store's key check value", ErrWrongKey)
		}
		active := getU64(meta, keyActive)
		var stale [][]byte
		err = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			var g uint64
			if _, err := fmt.Sscanf(string(name), genPrefix+"%x", &g); err == nil && g != active {
				stale = append(stale, append([]byte(nil), name...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, n := range stale {
			s.log.Info("removing generation left by an interrupted import", "bucket", string(n))
			if err := tx.DeleteBucket(n); err != nil {
				return err
			}
		}
		return meta.Delete(keyWriting)
	})
}

// Close closes the database. It is idempotent.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() { err = s.db.Close() })
	return err
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Check runs bbolt's consistency check.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

// Status is the state of the active gallery.
type Status struct {
	Active   bool
	Manifest *bundle.Manifest // of the active gallery
	Subjects uint64
	Highest  uint64 // highest gallery version ever activated
	Degraded bool   // no gallery, expired or older than MaxAge: matching goes on, the lane reports it
	Reason   string
}

// Status reports the active gallery at time now.
func (s *Store) Status(now time.Time) (Status, error) {
	var st Status
	err := s.db.View(func(tx *bolt.Tx) error {
		a, err := activeGen(tx)
		if err != nil {
			return err
		}
		st.Highest = getU64(tx.Bucket(bktMeta), keyHighest)
		if a == nil {
			return nil
		}
		st.Active, st.Manifest, st.Subjects = true, a.m, a.count
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("gallery status: %w", err)
	}
	switch {
	case !st.Active && s.distrust != "":
		st.Degraded, st.Reason = true, s.distrust
	case !st.Active && s.recovered != nil:
		st.Degraded, st.Reason = true, fmt.Sprintf("no gallery: the store was damaged and moved to %s; waiting for the next sync", s.recovered.MovedTo)
	case !st.Active:
		st.Degraded, st.Reason = true, "no gallery imported"
	case !now.Before(st.Manifest.Expires):
		st.Degraded, st.Reason = true, fmt.Sprintf("gallery version %d expired at %s", st.Manifest.Version, st.Manifest.Expires.Format(time.RFC3339))
	case s.maxAge > 0 && now.Sub(st.Manifest.Created) > s.maxAge:
		st.Degraded, st.Reason = true, fmt.Sprintf("gallery version %d is %s old, limit %s", st.Manifest.Version, now.Sub(st.Manifest.Created).Round(time.Minute), s.maxAge)
	}
	return st, nil
}

type gen struct {
	id    uint64
	b     *bolt.Bucket
	m     *bundle.Manifest
	count uint64
}

// activeGen returns the active generation, or nil when there is none.
func activeGen(tx *bolt.Tx) (*gen, error) {
	meta := tx.Bucket(bktMeta)
	if meta == nil {
		return nil, fmt.Errorf("%w: no meta bucket", ErrDamaged)
	}
	id := getU64(meta, keyActive)
	if id == 0 {
		return nil, nil
	}
	b := tx.Bucket(genName(id))
	if b == nil || b.Bucket(bktSubjects) == nil {
		return nil, fmt.Errorf("%w: active generation %d missing", ErrDamaged, id)
	}
	var m bundle.Manifest
	if err := json.Unmarshal(b.Get(keyManifest), &m); err != nil {
		return nil, fmt.Errorf("%w: generation %d manifest: %v", ErrDamaged, id, err)
	}
	return &gen{id: id, b: b, m: &m, count: getU64(b, keyCount)}, nil
}
