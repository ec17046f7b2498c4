package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/vision"
)

// Snapshot is an immutable in-memory gallery for a replay: lane.Snapshot.
type Snapshot struct {
	version, modelID string
	loaded           time.Time
	ix               *match.Index
}

var _ lane.Snapshot = (*Snapshot)(nil)

func (s *Snapshot) Version() string     { return s.version }
func (s *Snapshot) ModelID() string     { return s.modelID }
func (s *Snapshot) LoadedAt() time.Time { return s.loaded }

// Subjects is the number of enrolled subjects.
func (s *Snapshot) Subjects() int {
	if s.ix == nil {
		return 0
	}
	return s.ix.Subjects()
}

// Search implements lane.Snapshot; an empty gallery finds nobody.
func (s *Snapshot) Search(probe []float32, k int) ([]match.Result, error) {
	if s.ix == nil {
		return nil, nil
	}
	return s.ix.Search(probe, k)
}

// Current makes a Snapshot its own lane.Gallery (a replay never swaps).
func (s *Snapshot) Current() lane.Snapshot { return s }

// Enroller makes a template from one enrolment photo (the pipeline's
// EnrollFile); an error wrapping ErrNotEnrolled skips the photo.
type Enroller func(ctx context.Context, path string) (vision.Embedding, error)

// ErrNotEnrolled marks a photo without one usable face.
var ErrNotEnrolled = errors.New("not enrolled")

// EnrolDir enrols a folder per subject (subject id = folder name), as
// laned identify does. Photos that cannot be enrolled are reported to skip
// and left out; a gallery with nobody is an error.
func EnrolDir(ctx context.Context, dir, modelID string, dim int, enrol Enroller, skip func(path string, err error)) (*Snapshot, error) {
	ids, err := eval.LoadIdentities(dir)
	if err != nil {
		return nil, fmt.Errorf("gallery %s: %w", dir, err)
	}
	b := match.NewBuilder(dim, len(ids))
	for _, id := range ids {
		for _, img := range id.Images {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t, err := enrol(ctx, img)
			if errors.Is(err, ErrNotEnrolled) {
				if skip != nil {
					skip(img, err)
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("gallery %s: %w", img, err)
			}
			if err := b.Add(id.Name, t); err != nil {
				return nil, fmt.Errorf("gallery %s: %w", img, err)
			}
		}
	}
	if b.Len() == 0 {
		return nil, fmt.Errorf("gallery %s: no photo could be enrolled", dir)
	}
	ix, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("gallery %s: %w", dir, err)
	}
	return &Snapshot{version: dirVersion(dir), modelID: modelID, ix: ix, loaded: time.Now()}, nil
}

// dirVersion names a folder gallery within the summary's version rule
// (1–64 printable ASCII characters, no space).
func dirVersion(dir string) string {
	b := []byte("dir:" + filepath.Base(filepath.Clean(dir)))
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 64)])
}

// FromIndex wraps a built index.
func FromIndex(ix *match.Index, version, modelID string) *Snapshot {
	return &Snapshot{version: version, modelID: modelID, ix: ix, loaded: time.Now()}
}

// LoadBundle verifies a signed full gallery bundle against the trusted
// public keys and loads the subjects valid at at into memory.
func LoadBundle(path string, trust []string, modelID string, dim int, at time.Time) (*Snapshot, error) {
	keys, err := bundle.LoadKeyRing(trust...)
	if err != nil {
		return nil, fmt.Errorf("--trust: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--bundle: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("--bundle: %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--bundle: %w", err)
	}
	defer f.Close()
	r, err := bundle.NewReader(f, bundle.VerifyOptions{Keys: keys, ModelID: modelID, Dim: dim, Now: at})
	if err != nil {
		return nil, fmt.Errorf("--bundle %s: %w", path, err)
	}
	m := r.Manifest()
	if m.Kind != bundle.Full {
		return nil, fmt.Errorf("--bundle %s: a %v bundle; replay needs a full one", path, m.Kind)
	}
	b := match.NewBuilder(dim, int(min(m.RecordCount, 1<<20)))
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--bundle %s: %w", path, err)
		}
		if (!rec.ValidFrom.IsZero() && at.Before(rec.ValidFrom)) || (!rec.ValidUntil.IsZero() && !at.Before(rec.ValidUntil)) {
			continue
		}
		for _, t := range rec.Templates {
			if err := b.Add(rec.Subject, t); err != nil {
				return nil, fmt.Errorf("--bundle %s: subject %s: %w", path, rec.Subject, err)
			}
		}
	}
	s := &Snapshot{version: fmt.Sprint(m.Version), modelID: m.ModelID, loaded: time.Now()}
	if b.Len() > 0 {
		if s.ix, err = b.Build(); err != nil {
			return nil, fmt.Errorf("--bundle %s: %w", path, err)
		}
	}
	return s, nil
}
