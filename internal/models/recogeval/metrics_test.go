package recogeval

import (
	"math"
	"sort"
)

// pair is a comparison: its distance and whether it is the same person.
type pair struct {
	d    float64
	same bool
}

// scores computes AUC (P(impostor distance > genuine distance)), EER and its
// threshold, and the best accuracy over all thresholds.
type scores struct {
	AUC, EER, EERThreshold, BestAcc float64
	MaxGenuine, MinImpostor         float64
	Genuine, Impostor               int
}

func score(ps []pair) scores {
	var gen, imp []float64
	for _, p := range ps {
		if p.same {
			gen = append(gen, p.d)
		} else {
			imp = append(imp, p.d)
		}
	}
	sort.Float64s(gen)
	sort.Float64s(imp)
	s := scores{Genuine: len(gen), Impostor: len(imp), MaxGenuine: gen[len(gen)-1], MinImpostor: imp[0]}
	var wins float64
	for _, g := range gen {
		k := sort.SearchFloat64s(imp, g)
		eq := 0
		for k+eq < len(imp) && imp[k+eq] == g {
			eq++
		}
		wins += float64(len(imp)-k-eq) + 0.5*float64(eq)
	}
	s.AUC = wins / float64(len(gen)*len(imp))
	s.EER = 1
	all := append(append([]float64{}, gen...), imp...)
	sort.Float64s(all)
	for _, th := range all {
		fnmr := float64(len(gen)-sort.SearchFloat64s(gen, math.Nextafter(th, math.Inf(1)))) / float64(len(gen))
		fmr := float64(sort.SearchFloat64s(imp, math.Nextafter(th, math.Inf(1)))) / float64(len(imp))
		if e := math.Max(fnmr, fmr); e < s.EER {
			s.EER, s.EERThreshold = e, th
		}
		if acc := accuracy(ps, th); acc > s.BestAcc {
			s.BestAcc = acc
		}
	}
	if s.MaxGenuine < s.MinImpostor { // separable: the middle of the gap
		s.EERThreshold = (s.MaxGenuine + s.MinImpostor) / 2
	}
	return s
}

// accuracy at threshold th: same iff distance ≤ th.
func accuracy(ps []pair, th float64) float64 {
	ok := 0
	for _, p := range ps {
		if (p.d <= th) == p.same {
			ok++
		}
	}
	return float64(ok) / float64(len(ps))
}

type nResult struct {
	probes            int
	rank1, fnir, fpir float64
}

// oneToN enrols each identity's first photo (with an embedding) and probes
// with the rest: rank-1 is the nearest enrolled identity; a mated probe is
// a false negative if its own identity is not nearest within thr; each
// probe searched again without its own identity is a false positive if any
// enrolled face lies within thr.
func oneToN(sd *setData, embs map[string][]float32, thr float64) nResult {
	gallery := map[string][]float32{}
	var probes []photo
	for _, p := range sd.photos {
		e := embs[p.path]
		if e == nil {
			continue
		}
		if gallery[p.id] == nil {
			gallery[p.id] = e
			continue
		}
		probes = append(probes, p)
	}
	var r nResult
	r.probes = len(probes)
	var hit, fn, fp int
	for _, p := range probes {
		best, bestD := "", math.Inf(1)
		bestOther := math.Inf(1)
		for id, g := range gallery {
			d := dist(embs[p.path], g)
			if d < bestD {
				best, bestD = id, d
			}
			if id != p.id && d < bestOther {
				bestOther = d
			}
		}
		if best == p.id {
			hit++
		}
		if best != p.id || bestD > thr {
			fn++
		}
		if bestOther <= thr {
			fp++
		}
	}
	r.rank1 = float64(hit) / float64(len(probes))
	r.fnir = float64(fn) / float64(len(probes))
	r.fpir = float64(fp) / float64(len(probes))
	return r
}

// dprime is the separation (mean impostor − mean genuine) / pooled sd, which
// keeps ranking templates after AUC saturates at 1.
func dprime(ps []pair) float64 {
	var g, i []float64
	for _, p := range ps {
		if p.same {
			g = append(g, p.d)
		} else {
			i = append(i, p.d)
		}
	}
	mv := func(v []float64) (m, s float64) {
		for _, x := range v {
			m += x
		}
		m /= float64(len(v))
		for _, x := range v {
			s += (x - m) * (x - m)
		}
		return m, s / float64(len(v))
	}
	mg, vg := mv(g)
	mi, vi := mv(i)
	return (mi - mg) / math.Sqrt((vg+vi)/2)
}
