package match

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

const (
	blockRows   = 128   // templates scored per kernel call: 16 KiB of int8 rows at dim 128, stays in L1
	probeGroup  = 64    // probes scanned together against each block
	minParallel = 16384 // below this many templates one goroutine is faster than several
	extraCands  = 31    // subjects kept per probe and shard beyond k, for the exact re-ranking
)

// Search returns the k subjects nearest to probe (highest score), best
// first; fewer if the index has fewer subjects.
func (ix *Index) Search(probe []float32, k int) ([]Result, error) {
	rs, err := ix.SearchBatch([][]float32{probe}, k)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// SearchBatch is Search for several probes in one pass over the index: each
// block of templates is read once for all of them. Result i belongs to
// probes[i].
//
// The scan scores int8 templates against an int8 probe on every core and
// keeps the best k+31 distinct subjects per core; the best k+31 of those
// are then re-ranked with the exact float32 scores of all their templates,
// so every returned Score is exact.
func (ix *Index) SearchBatch(probes [][]float32, k int) ([][]Result, error) {
	qs, err := ix.normProbes(probes, k)
	if err != nil {
		return nil, err
	}
	k = min(k, ix.Subjects()) // and k+extraCands cannot overflow
	qq := make([]*qprobe, len(qs))
	for p, q := range qs {
		qq[p] = newQprobe(q, ix.pad)
	}
	score := func(p, lo, hi int, h *topSubjects, i32 []int32) {
		i32 = i32[:hi-lo]
		dotsI8(qq[p], ix.q8[lo*ix.pad:hi*ix.pad], i32)
		inv := ix.qinv[lo:hi]
		sj := ix.subj[lo:hi]
		thr := h.threshold()
		for i, d := range i32 {
			if s := float32(d) * inv[i]; s >= thr {
				h.offer(s, sj[i])
				thr = h.threshold()
			}
		}
	}
	c := k + extraCands
	cands := ix.scan(len(qs), c, score)
	out := make([][]Result, len(qs))
	for p, cs := range cands {
		if len(cs) > c { // several shards: re-rank the best c of their union
			slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(b.score, a.score) })
			cs = cs[:c]
		}
		for i := range cs {
			s := cs[i].subj
			best := float32(math.Inf(-1))
			for _, t := range ix.byS[ix.first[s]:ix.first[s+1]] {
				best = max(best, dotF32(qs[p], ix.vecs[int(t)*ix.dim:(int(t)+1)*ix.dim]))
			}
			cs[i].score = best
		}
		out[p] = ix.results(cs, k)
	}
	return out, nil
}

// Exact is the reference search: every template's float32 score, no
// quantisation. It gives the same results as SearchBatch except where the
// int8 scan misses a subject; it is several times slower and exists to
// measure SearchBatch's recall.
func (ix *Index) Exact(probes [][]float32, k int) ([][]Result, error) {
	qs, err := ix.normProbes(probes, k)
	if err != nil {
		return nil, err
	}
	score := func(p, lo, hi int, h *topSubjects, _ []int32) {
		q := qs[p]
		thr := h.threshold()
		for t := lo; t < hi; t++ {
			if s := dotF32(q, ix.vecs[t*ix.dim:(t+1)*ix.dim]); s >= thr {
				h.offer(s, ix.subj[t])
				thr = h.threshold()
			}
		}
	}
	cands := ix.scan(len(qs), k, score)
	out := make([][]Result, len(qs))
	for p, cs := range cands {
		out[p] = ix.results(cs, k)
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

// cand is a subject and its best score so far.
type cand struct {
	score float32
	subj  int32
}

// topSubjects is a heap of at most k distinct subjects, worst on top:
// lower score, or on equal scores the greater subject id, is worse, so ties
// resolve the same way however the templates are split or ordered.
type topSubjects struct {
	c     []cand
	k     int
	names []string
}

// threshold is the score a template must reach (>=) to be offered.
func (h *topSubjects) threshold() float32 {
	if len(h.c) < h.k {
		return float32(math.Inf(-1))
	}
	return h.c[0].score
}

// worse reports whether a ranks below b.
func (h *topSubjects) worse(a, b cand) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.subj != b.subj && h.names[a.subj] > h.names[b.subj]
}

// offer records score s for subject subj; the caller checked
// s >= threshold(). A subject already held keeps its best score; the heap
// is small and offers are rare after the first blocks, so a linear look-up
// is cheapest.
func (h *topSubjects) offer(s float32, subj int32) {
	for i := range h.c {
		if h.c[i].subj == subj {
			if s > h.c[i].score {
				h.c[i].score = s
				h.down(i)
			}
			return
		}
	}
	x := cand{s, subj}
	if len(h.c) < h.k {
		h.c = append(h.c, x)
		for i := len(h.c) - 1; i > 0; {
			j := (i - 1) / 2
			if !h.worse(h.c[i], h.c[j]) {
				break
			}
			h.c[i], h.c[j] = h.c[j], h.c[i]
			i = j
		}
		return
	}
	if !h.worse(h.c[0], x) {
		return
	}
	h.c[0] = x
	h.down(0)
}

func (h *topSubjects) down(i int) {
	n := len(h.c)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.worse(h.c[r], h.c[l]) {
			m = r
		}
		if !h.worse(h.c[m], h.c[i]) {
			return
		}
		h.c[i], h.c[m] = h.c[m], h.c[i]
		i = m
	}
}

// scan scores every template against each of np probes with score, which
// offers to h what beats its threshold; scan keeps the
// best c distinct subjects per probe in each shard (one goroutine per
// GOMAXPROCS over contiguous template ranges) and returns, per probe, the
// union of the shards' subjects with their best scores.
func (ix *Index) scan(np, c int, score func(p, lo, hi int, h *topSubjects, i32 []int32)) [][]cand {
	n := ix.Len()
	c = min(c, ix.Subjects())
	w := 1
	if n >= minParallel {
		w = runtime.GOMAXPROCS(0)
	}
	blocks := (n + blockRows - 1) / blockRows
	w = max(1, min(w, blocks))
	heaps := make([][]topSubjects, w)
	shard := func(i int) {
		lo := blocks * i / w * blockRows
		hi := min(n, blocks*(i+1)/w*blockRows)
		hs := make([]topSubjects, np)
		for p := range hs {
			hs[p] = topSubjects{c: make([]cand, 0, c), k: c, names: ix.names}
		}
		i32 := make([]int32, blockRows)
		for g0 := 0; g0 < np; g0 += probeGroup {
			g1 := min(np, g0+probeGroup)
			for b := lo; b < hi; b += blockRows {
				e := min(hi, b+blockRows)
				for p := g0; p < g1; p++ {
					score(p, b, e, &hs[p], i32)
				}
			}
		}
		heaps[i] = hs
	}
	if w == 1 {
		shard(0)
	} else {
		var wg sync.WaitGroup
		for i := range w {
			wg.Go(func() { shard(i) })
		}
		wg.Wait()
	}
	out := make([][]cand, np)
	for p := range out {
		cs := heaps[0][p].c
		for _, hs := range heaps[1:] {
		next:
			for _, x := range hs[p].c {
				for j := range cs {
					if cs[j].subj == x.subj {
						cs[j].score = max(cs[j].score, x.score)
						continue next
					}
				}
				cs = append(cs, x)
			}
		}
		out[p] = cs
	}
	return out
}

// results sorts candidates best first (ties by subject id) and returns the
// first k as Results.
func (ix *Index) results(cs []cand, k int) []Result {
	slices.SortFunc(cs, func(a, b cand) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(ix.names[a.subj], ix.names[b.subj])
	})
	cs = cs[:min(k, len(cs))]
	rs := make([]Result, len(cs))
	for i, x := range cs {
		rs[i] = result(ix.names[x.subj], x.score)
	}
	return rs
}

func result(name string, s float32) Result {
	s = max(-1, min(1, s))
	return Result{Subject: name, Score: s, Distance: float32(math.Sqrt(max(0, 2-2*float64(s))))}
}
