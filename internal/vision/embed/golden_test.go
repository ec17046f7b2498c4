package embed

import (
	"math"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
)

// TestEmbedGolden runs the reference crops through Embed as the pipeline
// hands them over (8-bit BGR Mats) and compares with the reference
// implementation's outputs. The reference inputs are whole numbers 0..255,
// so the 8-bit chip loses nothing: this proves the embedder's own part
// (BGR→RGB, NCHW blob, the graph's normalisation) on top of the
// converter's golden test. Both engines run it.
func TestEmbedGolden(t *testing.T) {
	for _, eng := range []Engine{EngineOneDNN, EngineOpenCV} {
		t.Run(string(eng), func(t *testing.T) { testEmbedGolden(t, eng) })
	}
}

func testEmbedGolden(t *testing.T, eng Engine) {
	e, err := OpenWith(lanedtest.RecognitionModel(t), Options{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := filepath.Join("..", "..", "..", "testdata", "golden", "face-recognition")
	in, want := lanedtest.ReadF32(t, filepath.Join(dir, "input-rgb-150.f32")), lanedtest.ReadF32(t, filepath.Join(dir, "reference-embedding-128.f32"))
	const side = ChipSide
	n := len(want) / Dim
	if n == 0 || len(in) != n*side*side*3 || len(want) != n*Dim {
		t.Fatalf("golden files hold %d input and %d output values: not whole crops", len(in), len(want))
	}
	var maxErr float64
	for k := range n {
		bgr := make([]byte, side*side*3)
		for i := 0; i < side*side; i++ {
			for c := range 3 {
				v := in[(k*side*side+i)*3+c]
				if v != float32(math.Round(float64(v))) || v < 0 || v > 255 {
					t.Fatalf("crop %d value %d is %v, not an 8-bit level", k, i, v)
				}
				bgr[i*3+2-c] = byte(v)
			}
		}
		chip, err := gocv.NewMatFromBytes(side, side, gocv.MatTypeCV8UC3, bgr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Embed(chip)
		chip.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			maxErr = math.Max(maxErr, math.Abs(float64(g-want[k*Dim+i])))
		}
	}
	t.Logf("max abs error over %d×%d values through Embed: %.3g", n, Dim, maxErr)
	if maxErr > 1e-4 {
		t.Fatalf("embedder differs from the reference by %.3g (tolerance 1e-4)", maxErr)
	}
}
