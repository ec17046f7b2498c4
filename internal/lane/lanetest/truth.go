package lanetest

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/vision"
)

// TruthScript makes the scripted Analyzer "see" a generated scenario: each
// visible face becomes a candidate whose quality follows its size and the
// pass's variant — glare over the face overexposes it, motion blur and low
// light make a share of the frames unusable, deterministically per frame
// (seed). It stands in for inference so the engine's capture logic can be
// measured without a model; it says nothing about the real detector.
func TruthScript(sc *passgen.Scenario, seed uint64) Script {
	_, H := sc.Size()
	return func(f *frame.Frame) []FakeFace {
		var out []FakeFace
		for _, t := range sc.Faces(f.Camera, int(f.Seq)-1) {
			h := fnv.New64a()
			h.Write([]byte(f.Camera))
			r := rand.New(rand.NewPCG(seed^h.Sum64(), f.Seq*16+uint64(t.Occupant)))
			size := float64(t.Full.Dy()) / float64(H) // 0.09–0.19
			q := vision.Quality{Verdict: vision.VerdictOK}
			q.Score = math.Min(1, 0.45+2.5*size) - 0.1*r.Float64()
			switch {
			case size < 0.06:
				q.Verdict = vision.VerdictTooSmall
			case t.Glare > 0.35:
				q.Verdict, q.Score = vision.VerdictOverexposed, q.Score*(1-t.Glare)
			case t.Blur > 0 && r.Float64() < 0.5:
				q.Verdict, q.Score = vision.VerdictBlurred, q.Score*0.4
			case t.Gain < 0.5 && r.Float64() < 0.45:
				q.Verdict, q.Score = vision.VerdictTooDark, q.Score*0.4
			case t.Variant == passgen.Normal && r.Float64() < 0.1:
				q.Verdict, q.Score = vision.VerdictBadPose, q.Score*0.5
			}
			if t.Blur > 0 && q.Usable() {
				q.Score *= 0.85
			}
			if t.Gain < 0.5 && q.Usable() {
				q.Score *= 0.8
			}
			b := t.Box
			out = append(out, FakeFace{Identity: t.Person.ID, Quality: q,
				Box: vision.Box{X0: float32(b.Min.X), Y0: float32(b.Min.Y), X1: float32(b.Max.X), Y1: float32(b.Max.Y)}})
		}
		return out
	}
}

// Mix builds n varied vehicles from people: speeds 1.5–5 m/s, 1–4
// occupants, the variants in turn, empty-lane gaps of 2–8 s with every
// seventh vehicle a tailgater (gap -3 s). Deterministic for seed. People
// with Enrolled false are the strangers.
func Mix(seed uint64, people []passgen.Person, n int) []passgen.Vehicle {
	r := rand.New(rand.NewPCG(seed, 0x6d6978))
	vs := make([]passgen.Vehicle, 0, n)
	vars := passgen.Variants()
	for i := range n {
		k := 1 + r.IntN(4)
		perm := r.Perm(len(people))
		var occ []passgen.Person
		for _, j := range perm[:min(k, len(people))] {
			occ = append(occ, people[j])
		}
		gap := time.Duration(2000+r.IntN(6000)) * time.Millisecond
		if i%7 == 6 {
			gap = -3 * time.Second
		}
		vs = append(vs, passgen.Vehicle{Occupants: occ, Variant: vars[i%len(vars)], Speed: 1.5 + 3.5*r.Float64(), Gap: gap})
	}
	return vs
}
