package match

import (
	"errors"
	"fmt"
	"math"
	"sort"
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
// expected number of templates (0 if unknown).
func NewBuilder(dim, sizeHint int) *Builder {
	if sizeHint < 0 {
		sizeHint = 0
	}
	return &Builder{
		dim:    dim,
		vecs:   make([]float32, 0, sizeHint*max(dim, 0)),
		subj:   make([]int32, 0, sizeHint),
		byName: make(map[string]int32),
	}
}

// Add normalises v and adds it as a template of subject. It rejects an empty
// subject, a vector of the wrong dimension, and NaN, Inf or zero vectors.
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
	id, ok := b.byName[subject]
	if !ok {
		if len(b.names) >= math.MaxInt32 {
			return fmt.Errorf("add template of subject %q: too many subjects", subject)
		}
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
	if s == 0 || math.IsInf(s, 0) {
		return 0, errors.New("vector has zero (or overflowing) norm")
	}
	return math.Sqrt(s), nil
}

// Build returns the Index of the templates added so far. The Builder cannot
// be used afterwards.
func (b *Builder) Build() (*Index, error) {
	if b.built {
		return nil, errors.New("build index: builder already built")
	}
	if b.dim <= 0 {
		return nil, fmt.Errorf("build index: dimension %d is not positive", b.dim)
	}
	b.built = true
	ix := &Index{dim: b.dim, vecs: b.vecs, subj: b.subj, names: b.names}
	b.vecs, b.subj, b.names, b.byName = nil, nil, nil, nil
	return ix, nil
}

// Index is an immutable set of normalised templates. It is safe for
// concurrent use.
type Index struct {
	dim   int
	vecs  []float32
	subj  []int32
	names []string
}

// Len is the number of templates.
func (ix *Index) Len() int { return len(ix.subj) }

// Subjects is the number of distinct subjects.
func (ix *Index) Subjects() int { return len(ix.names) }

// Dim is the template dimension.
func (ix *Index) Dim() int { return ix.dim }

// Bytes is the size of the in-memory representation (vectors, subject
// numbers, subject names), excluding Go object headers.
func (ix *Index) Bytes() int64 {
	n := int64(len(ix.vecs))*4 + int64(len(ix.subj))*4 + int64(len(ix.names))*16
	for _, s := range ix.names {
		n += int64(len(s))
	}
	return n
}

// Search returns the k subjects nearest to probe, best first.
func (ix *Index) Search(probe []float32, k int) ([]Result, error) {
	rs, err := ix.SearchBatch([][]float32{probe}, k)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// SearchBatch searches several probes in one pass over the gallery.
func (ix *Index) SearchBatch(probes [][]float32, k int) ([][]Result, error) {
	return ix.Exact(probes, k)
}

// Exact is the reference search: a plain float32 scan of every template.
// It is slow and exists to measure the recall of Search.
func (ix *Index) Exact(probes [][]float32, k int) ([][]Result, error) {
	qs, err := ix.normProbes(probes, k)
	if err != nil {
		return nil, err
	}
	out := make([][]Result, len(qs))
	best := make([]float32, len(ix.names))
	for p, q := range qs {
		for i := range best {
			best[i] = float32(math.Inf(-1))
		}
		for t, s := range ix.subj {
			v := ix.vecs[t*ix.dim : (t+1)*ix.dim]
			d := dotF32(q, v)
			if d > best[s] {
				best[s] = d
			}
		}
		out[p] = topK(best, ix.names, k)
	}
	return out, nil
}

// normProbes validates and normalises probes.
func (ix *Index) normProbes(probes [][]float32, k int) ([][]float32, error) {
	if k <= 0 {
		return nil, fmt.Errorf("search: k = %d, want > 0", k)
	}
	qs := make([][]float32, len(probes))
	for i, p := range probes {
		n, err := norm(p, ix.dim)
		if err != nil {
			return nil, fmt.Errorf("search: probe %d: %w", i, err)
		}
		q := make([]float32, ix.dim)
		inv := 1 / n
		for j, x := range p {
			q[j] = float32(float64(x) * inv)
		}
		qs[i] = q
	}
	return qs, nil
}

func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// topK picks the k best subject scores (ties by subject name).
func topK(best []float32, names []string, k int) []Result {
	idx := make([]int, 0, len(best))
	for i, s := range best {
		if !math.IsInf(float64(s), -1) {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		sa, sb := best[idx[a]], best[idx[b]]
		if sa != sb {
			return sa > sb
		}
		return names[idx[a]] < names[idx[b]]
	})
	if len(idx) > k {
		idx = idx[:k]
	}
	rs := make([]Result, len(idx))
	for i, j := range idx {
		rs[i] = result(names[j], best[j])
	}
	return rs
}

func result(name string, s float32) Result {
	if s > 1 {
		s = 1
	} else if s < -1 {
		s = -1
	}
	return Result{Subject: name, Score: s, Distance: float32(math.Sqrt(max(0, 2-2*float64(s))))}
}
