package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/laned/laned/internal/boltcheck"
)

// Recovery says Open found the store file damaged (truncated, zeroed or
// garbage pages: boltcheck.Check, run with pread before bbolt maps the
// file, so it cannot fault) and moved it aside. The new store is empty:
// the lane runs with no gallery (degraded) until the next sync or import.
type Recovery struct {
	MovedTo string // the damaged file, kept for inspection
	Cause   error  // what is damaged
	At      time.Time
}

// Recovered returns the recovery Open made, or nil; the daemon turns it
// into a fault event.
func (s *Store) Recovered() *Recovery { return s.recovered }

// guard runs the pre-open check of path and moves a damaged file aside.
func guard(path string, opts Options) (*Recovery, error) {
	now := time.Now()
	moved, cause, err := boltcheck.Guard(path, opts.LockTimeout, now)
	if errors.Is(err, boltcheck.ErrLocked) {
		return nil, fmt.Errorf("open gallery store %s: %w (waited %v; is laned running?)", path, ErrLocked, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open gallery store %s: %w", path, err)
	}
	if moved == "" {
		return nil, nil
	}
	opts.Log.Error("gallery store damaged: moved aside, starting with no gallery until the next sync",
		"store", path, "moved_to", moved, "cause", cause)
	return &Recovery{MovedTo: moved, Cause: cause, At: now.UTC()}, nil
}
