package embed

import (
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models/convert"
	"github.com/laned/laned/internal/models/onnx"
)

// tinyRecogniser has the recogniser's interface (1×3×150×150 → 1×128) and
// every operator the converter emits, with a few hundred weights, so the
// whole load path can be fuzzed without the 22 MB model.
func tinyRecogniser(t testing.TB) []byte {
	t.Helper()
	g := onnx.NewGraph("tiny")
	g.Input(convert.InputName, 1, 3, ChipSide, ChipSide)
	w := make([]float32, 4*3*3*3)
	for i := range w {
		w[i] = float32(i%7-3) / 10
	}
	fc := make([]float32, Dim*6)
	for i := range fc {
		fc[i] = float32(i%11-5) / 100
	}
	steps := []error{
		g.Float("mean", []int64{1, 3, 1, 1}, convert.MeanRGB[:]),
		g.Float("div", []int64{1}, []float32{255}),
		g.Float("w", []int64{4, 3, 3, 3}, w),
		g.Float("b", []int64{4}, []float32{0.1, -0.1, 0.2, 0}),
		g.Int64s("pads", []int64{0, 0, 0, 0, 0, 2, 1, 1}),
		g.Float("fc", []int64{Dim, 6}, fc),
		g.Float("fc_b", []int64{Dim}, make([]float32, Dim)),
		g.Node("Sub", "sub", []string{convert.InputName, "mean"}, []string{"c"}),
		g.Node("Div", "div", []string{"c", "div"}, []string{"n"}),
		g.Node("Conv", "conv", []string{"n", "w", "b"}, []string{"conv"}, onnx.Ints("kernel_shape", 3, 3),
			onnx.Ints("strides", 2, 2), onnx.Ints("pads", 0, 0, 0, 0), onnx.Ints("dilations", 1, 1), onnx.Int("group", 1)), // 74
		g.Node("Relu", "relu", []string{"conv"}, []string{"relu"}),
		g.Node("MaxPool", "max", []string{"relu"}, []string{"max"}, onnx.Ints("kernel_shape", 3, 3), onnx.Ints("strides", 2, 2)),    // 36
		g.Node("AveragePool", "avg", []string{"max"}, []string{"avg"}, onnx.Ints("kernel_shape", 2, 2), onnx.Ints("strides", 2, 2)), // 18
		g.Node("Pad", "pad", []string{"avg", "pads"}, []string{"pad"}, onnx.String("mode", "constant")),                             // 6×19×19
		g.Node("Add", "add", []string{"pad", "pad"}, []string{"add"}),
		g.Node("GlobalAveragePool", "gap", []string{"add"}, []string{"gap"}),
		g.Node("Flatten", "flat", []string{"gap"}, []string{"flat"}, onnx.Int("axis", 1)),
		g.Node("Gemm", "fc", []string{"flat", "fc", "fc_b"}, []string{convert.OutputName}, onnx.Int("transB", 1)),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	g.Output(convert.OutputName, 1, Dim)
	b, err := g.Model("laned-test", "tiny", 11)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadTinyRecogniser(t *testing.T) {
	e, err := load(tinyRecogniser(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	chip := testChip(t, 4)
	defer chip.Close()
	v, err := e.Embed(chip)
	if err != nil || len(v) != Dim {
		t.Fatalf("embed: %d values, %v", len(v), err)
	}
}

// FuzzLoad: whatever bytes the model file holds, load either refuses them
// or gives an embedder that runs. An OpenCV abort (a C++ exception through
// cgo) kills the fuzz worker and is reported as a crash, so this proves
// onnx.Check covers what OpenCV's importer would choke on.
func FuzzLoad(f *testing.F) {
	f.Add(tinyRecogniser(f))
	f.Add([]byte{})
	f.Add([]byte("\x08\x07"))
	chip := gocv.NewMatWithSize(ChipSide, ChipSide, gocv.MatTypeCV8UC3)
	defer chip.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := load(data)
		if err != nil {
			return
		}
		defer e.Close()
		v, err := e.Embed(chip)
		if err != nil {
			t.Fatalf("loaded, then embed failed: %v", err)
		}
		if len(v) != Dim {
			t.Fatalf("%d values", len(v))
		}
	})
}
