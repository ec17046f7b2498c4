package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// synth generates clustered, face-embedding-like galleries and probes,
// deterministically from a seed, without storing the identities.
//
// Identity i draws (from its own PCG stream) a template count of 1-4 (mean
// 2.5), one of 16 groups and a centre 0.6*m + 0.6*g + u (norm ~1.3), where m is
// a direction shared by everyone, g the group's direction and u the
// identity's own random unit direction: impostor cosines are then ~0.2
// across groups and ~0.4 within a group, as with real face embeddings,
// which are far from isotropic. A template is normalise(centre + n) with
// Gaussian noise of total norm 0.5; a probe is a fresh sample with noisier
// capture (noise norm 0.8) of an enrolled identity or, for half of the
// probes, of a never-enrolled one (at a lane most travellers are not in the
// gallery). At 100k templates a mated probe's best score has median 0.81
// (distance 0.61, near dlib's 0.6 threshold), a non-mated probe's 0.55
// (distance 0.95); non-mated probes are the hard ones for recall@1: the gap
// between their two best subjects is under 0.0004 for 1% of them.
type synth struct {
	dim    int
	seed   uint64
	mean   []float64
	groups [][]float64

	// Scratch, reused so that generating a big gallery leaves little
	// garbage (BenchmarkRSS measures the index, not the generator).
	idSrc, smSrc   *rand.PCG
	idRand, smRand *rand.Rand
	u, c, v        []float64
	out            []float32
}

const (
	synthGroups     = 16
	synthTmplNoise  = 0.5
	synthProbeNoise = 0.8
	synthNonMated   = 0.5
	synthProbeSalt  = 0x9e3779b97f4a7c15
)

func newSynth(dim int, seed uint64) *synth {
	r := rand.New(rand.NewPCG(seed, math.MaxUint64))
	s := &synth{dim: dim, seed: seed, mean: unitGauss(r, make([]float64, dim))}
	for range synthGroups {
		s.groups = append(s.groups, unitGauss(r, make([]float64, dim)))
	}
	s.idSrc, s.smSrc = rand.NewPCG(0, 0), rand.NewPCG(0, 0)
	s.idRand, s.smRand = rand.New(s.idSrc), rand.New(s.smSrc)
	s.u, s.c, s.v = make([]float64, dim), make([]float64, dim), make([]float64, dim)
	s.out = make([]float32, dim)
	return s
}

// unitGauss fills v with a random unit vector.
func unitGauss(r *rand.Rand, v []float64) []float64 {
	var n float64
	for i := range v {
		v[i] = r.NormFloat64()
		n += v[i] * v[i]
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
	return v
}

// identity returns identity id's template count and centre (valid until the
// next call).
func (s *synth) identity(id uint64) (int, []float64) {
	s.idSrc.Seed(s.seed, id)
	r := s.idRand
	count := 1 + r.IntN(4)
	g := s.groups[r.IntN(synthGroups)]
	u := unitGauss(r, s.u)
	c := s.c
	for i := range c {
		c[i] = 0.6*s.mean[i] + 0.6*g[i] + u[i]
	}
	return count, c
}

// sample returns normalise(c + noise of norm ~sigma) drawn from r, valid
// until the next call.
func (s *synth) sample(r *rand.Rand, c []float64, sigma float64) []float32 {
	v := s.v
	sd := sigma / math.Sqrt(float64(s.dim))
	var n float64
	for i := range v {
		v[i] = c[i] + sd*r.NormFloat64()
		n += v[i] * v[i]
	}
	n = math.Sqrt(n)
	out := s.out
	for i := range v {
		out[i] = float32(v[i] / n)
	}
	return out
}

func subjectID(id uint64) string { return fmt.Sprintf("s%07d", id) }

// build makes an index of exactly n templates; it returns the index and the
// number of identities enrolled.
func (s *synth) build(n int) (*Index, int, error) {
	b := NewBuilder(s.dim, n)
	id := uint64(0)
	for b.Len() < n {
		count, c := s.identity(id)
		s.smSrc.Seed(s.seed^0x5eed, id)
		r := s.smRand
		for t := 0; t < count && b.Len() < n; t++ {
			if err := b.Add(subjectID(id), s.sample(r, c, synthTmplNoise)); err != nil {
				return nil, 0, err
			}
		}
		id++
	}
	ix, err := b.Build()
	return ix, int(id), err
}

// probes returns np probes against a gallery of nIdent identities, and the
// subject each mated probe was drawn from ("" for non-mated ones).
func (s *synth) probes(np, nIdent int) ([][]float32, []string) {
	ps := make([][]float32, np)
	who := make([]string, np)
	for j := range ps {
		s.smSrc.Seed(s.seed^synthProbeSalt, uint64(j))
		r := s.smRand
		var id uint64
		if r.Float64() < synthNonMated {
			id = uint64(nIdent) + 1<<40 + uint64(j) // never enrolled
		} else {
			id = uint64(r.IntN(nIdent))
			who[j] = subjectID(id)
		}
		_, c := s.identity(id)
		ps[j] = slices.Clone(s.sample(r, c, synthProbeNoise))
	}
	return ps, who
}
