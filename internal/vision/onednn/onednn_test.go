package onednn

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/laned/laned/internal/lanedtest"
)

func loadFile(t testing.TB, path string) *Net {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestGolden runs the reference crops (RGB, HWC, 0..255) through the
// converted recogniser on oneDNN and compares with the reference
// implementation's outputs.
func TestGolden(t *testing.T) {
	n := loadFile(t, lanedtest.RecognitionModel(t))
	dir := filepath.Join("..", "..", "..", "testdata", "golden", "face-recognition")
	in, want := lanedtest.ReadF32(t, filepath.Join(dir, "input-rgb-150.f32")), lanedtest.ReadF32(t, filepath.Join(dir, "reference-embedding-128.f32"))
	const side, dim = 150, 128
	crops := len(want) / dim
	if crops == 0 || len(in) != crops*side*side*3 {
		t.Fatalf("golden files hold %d input and %d output values: not whole crops", len(in), len(want))
	}
	var maxErr float64
	for k := range crops {
		chw := make([]float32, 3*side*side)
		for i := range side * side {
			for c := range 3 {
				chw[c*side*side+i] = in[(k*side*side+i)*3+c]
			}
		}
		got, err := n.Forward(chw)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			maxErr = math.Max(maxErr, math.Abs(float64(g-want[k*dim+i])))
		}
	}
	t.Logf("max abs error over %d×%d values on oneDNN: %.3g", crops, dim, maxErr)
	if maxErr > 1e-4 {
		t.Fatalf("oneDNN differs from the reference by %.3g (tolerance 1e-4)", maxErr)
	}
}

// BenchmarkForward is one recogniser pass on oneDNN; BenchmarkEmbed in the
// parent package is the same chip through the OpenCV path.
func BenchmarkForward(b *testing.B) {
	n := loadFile(b, lanedtest.RecognitionModel(b))
	in := make([]float32, volume(n.InputShape()))
	for i := range in {
		in[i] = float32(i % 251)
	}
	for b.Loop() {
		if _, err := n.Forward(in); err != nil {
			b.Fatal(err)
		}
	}
}
