package eval

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/vision"
)

func TestParsePairs(t *testing.T) {
	good := "\ufeffimage_a,image_b,same\nids/a/1.jpg,ids/a/2.jpg,1\n/abs/b.png, ids/c.webp ,0\nx.jpg,y.jpg,true\n"
	pairs, err := ParsePairs(strings.NewReader(good), "/data")
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{"/data/ids/a/1.jpg", "/data/ids/a/2.jpg", true},
		{"/abs/b.png", "/data/ids/c.webp", false},
		{"/data/x.jpg", "/data/y.jpg", true},
	}
	if len(pairs) != len(want) {
		t.Fatalf("got %+v", pairs)
	}
	for i := range want {
		if pairs[i] != want[i] {
			t.Errorf("pair %d: %+v, want %+v", i, pairs[i], want[i])
		}
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"wrong header", "a,b,c\nx,y,1\n", "header"},
		{"no pairs", "image_a,image_b,same\n", "no pairs"},
		{"bad label", "image_a,image_b,same\nx,y,2\n", "line 2"},
		{"short line", "image_a,image_b,same\nx,y\n", "line 2"},
		{"empty path", "image_a,image_b,same\n,y,1\n", "line 2: empty"},
	} {
		if _, err := ParsePairs(strings.NewReader(tc.in), "/d"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	dir := t.TempDir()
	if _, err := LoadPairs(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory as pairs file: %v", err)
	}
	p := filepath.Join(dir, "pairs.csv")
	os.WriteFile(p, []byte("image_a,image_b,same\nx.jpg,y.jpg,3\n"), 0o644)
	if _, err := LoadPairs(p); err == nil || !strings.Contains(err.Error(), "pairs.csv") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad label: %v, want the file and line named", err)
	}
}

func FuzzParsePairs(f *testing.F) {
	f.Add("image_a,image_b,same\na.jpg,b.jpg,1\n")
	f.Add("image_a,image_b,same\n\"a,\"\"b\",c,0\n")
	f.Add("image_a,image_b\n")
	f.Fuzz(func(t *testing.T, in string) {
		pairs, err := ParsePairs(strings.NewReader(in), "/d")
		if err == nil && len(pairs) == 0 {
			t.Fatal("no error and no pairs")
		}
		for _, p := range pairs {
			if !filepath.IsAbs(p.A) || !filepath.IsAbs(p.B) {
				t.Fatalf("relative path left: %+v", p)
			}
		}
	})
}

func TestEvaluateVerification(t *testing.T) {
	at := func(deg float64) vision.Embedding {
		r := deg * math.Pi / 180
		return vision.Embedding{float32(math.Cos(r)), float32(math.Sin(r))}
	}
	// d = 2 sin(θ/2): 10° → 0.174, 30° → 0.518, 60° → 1.0
	enc := tableEncoder{"a": at(0), "a2": at(10), "a3": at(30), "b": at(60), "c": at(120), "x": nil}
	pairs := []Pair{
		{"a", "a2", true},  // 0.174 accepted
		{"a", "a3", true},  // 0.518 rejected at 0.4
		{"a", "x", true},   // fta: rejected
		{"a", "b", false},  // 1.0 rejected
		{"a2", "b", false}, // 50° 0.845 rejected
		{"b", "c", false},  // 1.0
		{"x", "c", false},  // fta: rejected, right
		{"a3", "b", false}, // 30° 0.518: rejected
	}
	res, err := EvaluateVerification(pairs, enc, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pairs != 8 || res.Genuine != 3 || res.Impostor != 5 || res.FTAPairs != 2 || res.Images != 6 {
		t.Fatalf("counts %+v", *res)
	}
	// right: a~a2, four impostors rejected, x~c: 6 of 8
	if !close(res.Accuracy, 6.0/8) || !close(res.TAR, 1.0/3) || !close(res.FAR, 0) || !close(res.FTA, 2.0/8) {
		t.Fatalf("accuracy %v tar %v far %v fta %v; want 0.75, 1/3, 0, 0.25", res.Accuracy, res.TAR, res.FAR, res.FTA)
	}
	if len(res.FTAImages) != 1 || res.FTAImages[0] != "x" || len(res.Errors) != 2 {
		t.Errorf("fta images %v, errors %v", res.FTAImages, res.Errors)
	}
	// a~a3 and a3~b are both 0.518 apart: no threshold gets both right,
	// so the sweep's best is the threshold's 6 of 8
	if !close(res.BestAccuracy, 6.0/8) {
		t.Errorf("best accuracy %v below the accuracy at the threshold %v", res.BestAccuracy, res.Accuracy)
	}
	lax, err := EvaluateVerification(pairs, enc, 1.5)
	if err != nil {
		t.Fatal(err)
	}
	// every usable pair accepted: 4 of 5 impostors (x~c is an fta)
	if !close(lax.FAR, 0.8) || !close(lax.TAR, 2.0/3) {
		t.Errorf("lax threshold: far %v tar %v, want 0.8 and 2/3", lax.FAR, lax.TAR)
	}
	if _, err := EvaluateVerification([]Pair{{"a", "zz", true}}, enc, 0.4); err == nil || !strings.Contains(err.Error(), "zz") {
		t.Errorf("unknown image: %v, want an error naming it", err)
	}
}

func TestBestThreshold(t *testing.T) {
	r := &VerificationResult{Pairs: 4, Genuine: 2, Impostor: 2,
		GenuineDistances: []float32{0.2, 0.3}, ImpostorDistances: []float32{0.5, 0.6}}
	th, acc := bestThreshold(r)
	if !(th > 0.3 && th < 0.5) || !close(acc, 1) {
		t.Errorf("best threshold %v accuracy %v, want one in (0.3, 0.5) and 1", th, acc)
	}
}
