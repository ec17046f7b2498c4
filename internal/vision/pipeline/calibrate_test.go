package pipeline

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/laned/laned/internal/vision"
)

// identityImages maps identity → images of a folder-per-identity data set
// under ../shared/datasets.
func identityImages(t *testing.T, set, pattern string) map[string][]string {
	out := map[string][]string{}
	for _, p := range sharedDataset(t, set, pattern) {
		id := set + "/" + filepath.Base(filepath.Dir(p))
		out[id] = append(out[id], p)
	}
	return out
}

// distances of all pairs of templates: genuine (same identity) and
// impostor, over the identities accepted by keep.
func pairDistances(templates map[string][]vision.Embedding, keep func(id string) bool) (gen, imp []float64) {
	var ids []string
	for id := range templates {
		if keep(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for i, a := range ids {
		ta := templates[a]
		for x := range ta {
			for y := x + 1; y < len(ta); y++ {
				gen = append(gen, float64(distance(ta[x], ta[y])))
			}
		}
		for _, b := range ids[i+1:] {
			for _, ea := range ta {
				for _, eb := range templates[b] {
					imp = append(imp, float64(distance(ea, eb)))
				}
			}
		}
	}
	sort.Float64s(gen)
	sort.Float64s(imp)
	return gen, imp
}

// quantiles formats the 0, 1, 5, 50, 95, 99 and 100th percentiles.
func quantiles(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	var s []string
	for _, q := range []float64{0, 0.01, 0.05, 0.5, 0.95, 0.99, 1} {
		s = append(s, fmt.Sprintf("p%g %.3f", 100*q, v[int(q*float64(len(v)-1)+0.5)]))
	}
	return strings.Join(s, " ")
}

// accuracyAt is the share of pairs decided right at threshold th.
func accuracyAt(gen, imp []float64, th float64) (acc, fnmr, fmr float64) {
	var fn, fm int
	for _, d := range gen {
		if d > th {
			fn++
		}
	}
	for _, d := range imp {
		if d <= th {
			fm++
		}
	}
	n := len(gen) + len(imp)
	return float64(n-fn-fm) / float64(n), float64(fn) / float64(len(gen)), float64(fm) / float64(len(imp))
}

// TestThresholdCalibration is the calibration behind DefaultThreshold:
// every usable photo of johns and deepface embedded (the dominant face of
// each), distances of all pairs. Identities are split: the tuning half
// (johns's first three people, deepface id01–id07) chooses the threshold
// (the lowest multiple of 0.01 accepting all its genuine pairs); the
// held-out half (the other people) judges it. The distributions are in
// docs/recognition.md; `go test -run TestThresholdCalibration -v
// ./internal/vision/pipeline/` prints them.
func TestThresholdCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	images := identityImages(t, "johns", "*/*.jpg")
	for id, ps := range identityImages(t, "deepface", "ids/*/*") {
		images[id] = ps
	}
	p, _ := open(t, Options{})
	templates := map[string][]vision.Embedding{}
	refused := 0
	for id, ps := range images {
		for _, path := range ps {
			emb, err := p.EnrollFile(path)
			if errors.Is(err, ErrNoUsableFace) {
				refused++
				t.Logf("not enrolled: %v", err)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			templates[id] = append(templates[id], emb)
		}
	}
	tune := map[string]bool{}
	for _, id := range []string{"johns/John_Salley", "johns/John_Savage", "johns/John_Schneider",
		"deepface/id01", "deepface/id02", "deepface/id03", "deepface/id04", "deepface/id05", "deepface/id06", "deepface/id07"} {
		tune[id] = true
	}
	genT, impT := pairDistances(templates, func(id string) bool { return tune[id] })
	genH, impH := pairDistances(templates, func(id string) bool { return !tune[id] })
	genA, impA := pairDistances(templates, func(string) bool { return true })
	// The rule: the lowest threshold, in steps of 0.01, that accepts every
	// genuine pair of the tuning half. In a 1:N search every enrolled
	// subject is a chance of a false match (FPIR ≈ N·FMR), so the lane's
	// threshold belongs at the genuine tail, not midway to the impostors.
	ruleTh := math.Ceil(genT[len(genT)-1]*100) / 100
	// for comparison: the midpoint of the widest error-free interval
	midTh := 0.0
	if lo, hi := genT[len(genT)-1], impT[0]; hi > lo {
		midTh = (lo + hi) / 2
	}
	photos := 0
	for _, ts := range templates {
		photos += len(ts)
	}
	t.Logf("%d photos of %d identities enrolled, %d refused", photos, len(templates), refused)
	for _, s := range []struct {
		name     string
		gen, imp []float64
	}{{"tuning", genT, impT}, {"held-out", genH, impH}, {"all", genA, impA}} {
		t.Logf("%s: %d genuine pairs: %s", s.name, len(s.gen), quantiles(s.gen))
		t.Logf("%s: %d impostor pairs: %s", s.name, len(s.imp), quantiles(s.imp))
		for _, th := range []float64{0.36, 0.38, 0.40, 0.41, DefaultThreshold} {
			acc, fnmr, fmr := accuracyAt(s.gen, s.imp, th)
			t.Logf("%s at %.3f: accuracy %.4f, fnmr %.4f, fmr %.4f", s.name, th, acc, fnmr, fmr)
		}
	}
	t.Logf("tuning: genuine max %.3f, impostor min %.3f: rule threshold %.2f (midpoint %.3f)", genT[len(genT)-1], impT[0], ruleTh, midTh)
	if math.Abs(ruleTh-DefaultThreshold) > 1e-9 {
		t.Errorf("the tuning half's rule threshold %.2f differs from DefaultThreshold %.3f", ruleTh, DefaultThreshold)
	}
	acc, fnmr, fmr := accuracyAt(genH, impH, DefaultThreshold)
	if acc < 0.99 || fnmr > 0.02 {
		t.Errorf("held-out at DefaultThreshold %.3f: accuracy %.4f, fnmr %.4f, fmr %.4f; want accuracy ≥ 0.99, fnmr ≤ 0.02", DefaultThreshold, acc, fnmr, fmr)
	}
}
