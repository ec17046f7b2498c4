package active

import (
	"strconv"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/match"
)

// NoGallery is the Version of the empty snapshot.
const NoGallery = "none"

// Snapshot is one immutable gallery index. Its methods are safe from any
// goroutine; the zero of nothing: use Gallery.Current.
type Snapshot struct {
	ix       *match.Index // nil: empty
	version  string
	modelID  string
	loadedAt time.Time
	created  time.Time
	expires  time.Time
	next     time.Time
	subjects int
}

func emptySnapshot(modelID string, at time.Time) *Snapshot {
	return &Snapshot{version: NoGallery, modelID: modelID, loadedAt: at}
}

func newSnapshot(ix *match.Index, m *bundle.Manifest, at, next time.Time) *Snapshot {
	return &Snapshot{ix: ix, version: strconv.FormatUint(m.Version, 10), modelID: m.ModelID, loadedAt: at,
		created: m.Created, expires: m.Expires, next: next, subjects: ix.Subjects()}
}

// Version is the gallery version the index was built from; NoGallery for
// the empty snapshot.
func (s *Snapshot) Version() string { return s.version }

// ModelID is the recogniser the templates were made for.
func (s *Snapshot) ModelID() string { return s.modelID }

// LoadedAt is when the index was built (the gallery's clock).
func (s *Snapshot) LoadedAt() time.Time { return s.loadedAt }

// Subjects is the number of subjects that can match (inside their
// validity window when the index was built).
func (s *Snapshot) Subjects() int { return s.subjects }

// NextBoundary is when the index must be rebuilt (a subject's validity
// starts or ends, or the gallery expires); zero: never.
func (s *Snapshot) NextBoundary() time.Time { return s.next }

// Empty reports whether no gallery is loaded.
func (s *Snapshot) Empty() bool { return s.ix == nil }

// Created and Expires are the gallery manifest's; zero when empty.
func (s *Snapshot) Created() time.Time { return s.created }
func (s *Snapshot) Expires() time.Time { return s.expires }

// Search returns up to k subjects nearest to probe, best first (see
// match.Index.Search). The empty snapshot returns no results and no error.
func (s *Snapshot) Search(probe []float32, k int) ([]match.Result, error) {
	if s.ix == nil {
		return nil, nil
	}
	return s.ix.Search(probe, k)
}
