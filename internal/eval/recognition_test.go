package eval

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/vision"
)

// tableEncoder returns a fixed embedding per file name; a nil entry is a
// failure to acquire.
type tableEncoder map[string]vision.Embedding

func (t tableEncoder) get(p string) (vision.Embedding, error) {
	e, ok := t[filepath.Base(p)]
	if !ok {
		return nil, fmt.Errorf("unexpected file %s", p)
	}
	if e == nil {
		return nil, fmt.Errorf("%s: %w", p, ErrNoUsableFace)
	}
	return e, nil
}
func (t tableEncoder) EnrollFile(p string) (vision.Embedding, error) { return t.get(p) }
func (t tableEncoder) ProbeFile(p string) (vision.Embedding, error)  { return t.get(p) }

// bruteGallery is an exact search over normalised templates.
type bruteGallery map[string][]vision.Embedding

func norm(v vision.Embedding) vision.Embedding {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make(vision.Embedding, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(s))
	}
	return out
}

func (g bruteGallery) Top(p vision.Embedding) (string, float32, bool, error) {
	best, bestD := "", float32(math.Inf(1))
	p = norm(p)
	for s, ts := range g {
		for _, t := range ts {
			t = norm(t)
			var d float64
			for i := range t {
				d += float64(t[i]-p[i]) * float64(t[i]-p[i])
			}
			if float32(math.Sqrt(d)) < bestD {
				best, bestD = s, float32(math.Sqrt(d))
			}
		}
	}
	return best, bestD, best != "", nil
}

func buildBrute(m map[string][]vision.Embedding) (Gallery, error) { return bruteGallery(m), nil }

func TestEvaluateRecognition(t *testing.T) {
	// Two identities on orthogonal axes; angles chosen so distances are
	// known: d = 2 sin(θ/2).
	at := func(deg float64, axis int) vision.Embedding {
		r := deg * math.Pi / 180
		v := vision.Embedding{0, 0, 0}
		v[axis] = float32(math.Cos(r))
		v[2] = float32(math.Sin(r))
		return v
	}
	ids := []Identity{
		{Name: "a", Images: []string{"a0", "a1", "a2", "a3"}},
		{Name: "b", Images: []string{"b0", "b1", "b2"}},
	}
	enc := tableEncoder{
		"a0": at(0, 0), "a1": at(10, 0), "a2": at(50, 0), "a3": nil, // a2: far from its template (d≈0.845)
		"b0": at(0, 1), "b1": at(5, 1), "b2": at(20, 1),
	}
	res, err := EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{Enroll: 1, Threshold: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	want := RecognitionResult{Identities: 2, Probes: 5, Rank1: 0.8, Threshold: 0.6, FNIR: 0.4, FPIR: 0, FTA: 0.2}
	if res.Identities != want.Identities || res.Probes != want.Probes || !close(res.Rank1, want.Rank1) ||
		!close(res.FNIR, want.FNIR) || !close(res.FPIR, want.FPIR) || !close(res.FTA, want.FTA) || res.Threshold != want.Threshold {
		t.Fatalf("got %+v\nwant %+v", *res, want)
	}
	if res.NonMatedSearches != 4 || len(res.GenuineDistances) != 4 {
		t.Fatalf("non-mated searches %d, genuine distances %d; want 4 and 4", res.NonMatedSearches, len(res.GenuineDistances))
	}
	// A lax threshold lets non-mated searches return someone: a3 is an
	// FTA, b probes sit ~90° from a's template (d≈1.4).
	res, err = EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{Enroll: 1, Threshold: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	if !close(res.FPIR, 1) || !close(res.FNIR, 0.2) {
		t.Fatalf("lax threshold: fpir %v fnir %v, want 1 and 0.2", res.FPIR, res.FNIR)
	}
}

func close(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEvaluateRecognitionErrors(t *testing.T) {
	ids := []Identity{{Name: "a", Images: []string{"a0"}}, {Name: "b", Images: []string{"b0", "b1"}}}
	enc := tableEncoder{"a0": {1, 0}, "b0": {0, 1}, "b1": {0, 1}}
	if _, err := EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{Enroll: 1, Threshold: 0.6}); err == nil || !strings.Contains(err.Error(), "identity a has 1 images") {
		t.Fatalf("err = %v", err)
	}
	ids[0].Images = []string{"a0", "zz"}
	if _, err := EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{Enroll: 1, Threshold: 0.6}); err == nil || !strings.Contains(err.Error(), "zz") {
		t.Fatalf("err = %v, want it to name the file", err)
	}
	if _, err := EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{}); err == nil {
		t.Fatal("zero threshold accepted")
	}
}

func TestLoadIdentities(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bob/2.jpg", "bob/1.JPG", "bob/notes.txt", "amy/x.png", ".hidden/y.jpg", "empty/"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if !strings.HasSuffix(f, "/") {
			os.WriteFile(p, []byte("x"), 0o644)
		}
	}
	ids, err := LoadIdentities(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0].Name != "amy" || ids[1].Name != "bob" || len(ids[1].Images) != 2 ||
		filepath.Base(ids[1].Images[0]) != "1.JPG" {
		t.Fatalf("got %+v", ids)
	}
	if _, err := LoadIdentities(filepath.Join(dir, "amy")); err == nil {
		t.Fatal("a folder with no identity folders accepted")
	}
}

// TestEvaluateRecognitionGoesOnAfterFTE: an enrolment photo without a
// usable face is counted under fte, the evaluation goes on, and the probes
// of the identity left without a template count as mated misses.
func TestEvaluateRecognitionGoesOnAfterFTE(t *testing.T) {
	ids := []Identity{
		{Name: "a", Images: []string{"a0", "a1"}},
		{Name: "b", Images: []string{"b0", "b1", "b2"}},
		{Name: "c", Images: []string{"c0", "c1"}},
	}
	enc := tableEncoder{
		"a0": nil, "a1": {1, 0, 0}, // a cannot be enrolled
		"b0": {0, 1, 0}, "b1": {0, 1, 0.1}, "b2": {0, 1, 0.05},
		"c0": {0, 0, 1}, "c1": {0.05, 0, 1},
	}
	res, err := EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{Enroll: 1, Threshold: 0.6})
	if err != nil {
		t.Fatalf("evaluation stopped at a failure to enrol: %v", err)
	}
	if res.FTECount != 1 || !close(res.FTE, 1.0/3) || res.Enrolled != 2 || len(res.EnrolFailures) != 1 || !strings.Contains(res.EnrolFailures[0], "a0") {
		t.Fatalf("fte %v (%d, %v), enrolled %d; want 1/3, 1 naming a0, 2", res.FTE, res.FTECount, res.EnrolFailures, res.Enrolled)
	}
	// 4 mated probes: a1 has no template to match (a miss), b1 b2 c1 hit
	if res.Probes != 4 || !close(res.FNIR, 0.25) || !close(res.Rank1, 0.75) || res.FTACount != 0 {
		t.Fatalf("probes %d fnir %v rank1 %v fta %d; want 4, 0.25, 0.75, 0", res.Probes, res.FNIR, res.Rank1, res.FTACount)
	}
	if len(res.GenuineDistances) != 3 {
		t.Errorf("%d genuine distances, want 3 (none for the unenrolled identity)", len(res.GenuineDistances))
	}
	for i := range enc {
		if i[1] == '0' && i != "a0" {
			enc[i] = nil
		}
	}
	enc["a0"] = nil
	if _, err := EvaluateRecognition(ids, enc, buildBrute, RecognitionOptions{Enroll: 1, Threshold: 0.6}); err == nil {
		t.Error("an evaluation with no identity enrolled succeeded")
	}
}
