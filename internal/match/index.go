package match

import (
	"errors"
	"fmt"
	"math"
)

// Result is one subject found by a search.
type Result struct {
	Subject  string
	Score    float32 // cosine similarity of the probe and the subject's best template, in [-1, 1]
	Distance float32 // Euclidean distance of the normalised vectors, sqrt(2-2*Score)
}

// Builder collects templates for an Index. It is not safe for concurrent use.
type Builder struct {
	dim    int
	vecs   []float32 // normalised, dim per template
	subj   []int32   // subject number per template
	names  []string
	byName map[string]int32
	built  bool
}

// NewBuilder returns a Builder for dim-dimensional templates; sizeHint is the
// expected number of templates (0 if unknown) and saves regrowing buffers.
func NewBuilder(dim, sizeHint int) *Builder {
	if sizeHint < 0 || dim <= 0 {
		sizeHint = 0
	}
	return &Builder{
		dim:    dim,
		vecs:   make([]float32, 0, sizeHint*max(dim, 0)),
		subj:   make([]int32, 0, sizeHint),
		byName: make(map[string]int32),
	}
}

// Add normalises v and adds it as a template of subject; v itself is not
// kept. It rejects an empty subject, a vector of the wrong dimension, and
// NaN, Inf or zero vectors.
func (b *Builder) Add(subject string, v []float32) error {
	if b.built {
		return fmt.Errorf("add template of subject %q: builder already built", subject)
	}
	if subject == "" {
		return errors.New("add template: empty subject id")
	}
	if b.dim <= 0 {
		return fmt.Errorf("add template of subject %q: index dimension %d is not positive", subject, b.dim)
	}
	n, err := norm(v, b.dim)
	if err != nil {
		return fmt.Errorf("add template of subject %q: %w", subject, err)
	}
	if len(b.subj) >= math.MaxInt32 {
		return fmt.Errorf("add template of subject %q: index full (%d templates)", subject, len(b.subj))
	}
	id, ok := b.byName[subject]
	if !ok {
		id = int32(len(b.names))
		b.byName[subject] = id
		b.names = append(b.names, subject)
	}
	inv := 1 / n
	for _, x := range v {
		b.vecs = append(b.vecs, float32(float64(x)*inv))
	}
	b.subj = append(b.subj, id)
	return nil
}

// Len is the number of templates added so far.
func (b *Builder) Len() int { return len(b.subj) }

// norm checks v and returns its L2 norm.
func norm(v []float32, dim int) (float64, error) {
	if len(v) != dim {
		return 0, fmt.Errorf("vector has dimension %d, want %d", len(v), dim)
	}
	var s float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("vector element %d is %v", i, x)
		}
		s += f * f
	}
	if s == 0 {
		return 0, errors.New("vector has zero norm")
	}
	return math.Sqrt(s), nil
}

// Build returns the Index of the templates added so far; it takes over the
// Builder's buffers, so the Builder cannot be used afterwards. An empty
// index is valid (searches return no results).
func (b *Builder) Build() (*Index, error) {
	if b.built {
		return nil, errors.New("build index: builder already built")
	}
	if b.dim <= 0 {
		return nil, fmt.Errorf("build index: dimension %d is not positive", b.dim)
	}
	b.built = true
	n := len(b.subj)
	ix := &Index{
		dim:   b.dim,
		pad:   padDim(b.dim),
		vecs:  b.vecs,
		subj:  b.subj,
		names: b.names,
	}
	b.vecs, b.subj, b.names, b.byName = nil, nil, nil, nil

	// Templates of each subject, for re-ranking: a counting sort of the
	// template numbers by subject.
	ix.first = make([]int32, len(ix.names)+1)
	for _, s := range ix.subj {
		ix.first[s+1]++
	}
	for i := 1; i < len(ix.first); i++ {
		ix.first[i] += ix.first[i-1]
	}
	ix.byS = make([]int32, n)
	next := make([]int32, len(ix.names))
	copy(next, ix.first)
	for t, s := range ix.subj {
		ix.byS[next[s]] = int32(t)
		next[s]++
	}

	ix.q8 = make([]int8, n*ix.pad)
	ix.qinv = make([]float32, n)
	for t := 0; t < n; t++ {
		ix.qinv[t] = quantise(ix.q8[t*ix.pad:(t+1)*ix.pad], ix.vecs[t*ix.dim:(t+1)*ix.dim])
	}
	return ix, nil
}

// Index is an immutable set of normalised templates. It is safe for
// concurrent use.
//
// It holds each template twice: as float32 (exact scores, re-ranking) and as
// int8 with a per-template scale (the scan). See doc.go.
type Index struct {
	dim   int
	pad   int       // int8 row stride: dim rounded up to a multiple of 32
	vecs  []float32 // normalised templates, dim per template
	q8    []int8    // quantised templates, pad per template (zero padded)
	qinv  []float32 // per template: 1/scale of its int8 row
	subj  []int32   // subject number per template
	byS   []int32   // template numbers grouped by subject
	first []int32   // subject s's templates are byS[first[s]:first[s+1]]
	names []string  // subject ids by number
}

// Len is the number of templates.
func (ix *Index) Len() int { return len(ix.subj) }

// Subjects is the number of distinct subjects.
func (ix *Index) Subjects() int { return len(ix.names) }

// Dim is the template dimension.
func (ix *Index) Dim() int { return ix.dim }

// Bytes is the size of the in-memory representation: the float32 and int8
// copies of the templates, the scales, the subject tables and the subject ids
// (string headers and bytes). Go object headers and the allocator's slack
// are not counted.
func (ix *Index) Bytes() int64 {
	n := int64(len(ix.vecs))*4 + int64(len(ix.q8)) + int64(len(ix.qinv))*4 +
		int64(len(ix.subj))*4 + int64(len(ix.byS))*4 + int64(len(ix.first))*4 +
		int64(len(ix.names))*16
	for _, s := range ix.names {
		n += int64(len(s))
	}
	return n
}

func padDim(dim int) int { return (dim + 31) &^ 31 }
