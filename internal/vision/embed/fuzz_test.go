package embed

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models/convert"
	"github.com/laned/laned/internal/models/onnx"
)

// tinyShape are the knobs of tinyRecogniser: convolution kernel, stride,
// padding and output channels, max-pool kernel and stride, and the zero
// padding added to channels and to the bottom/right.
type tinyShape struct {
	k, s, p, cout, pk, ps, padC, padHW int64
}

var tinyDefault = tinyShape{k: 3, s: 2, p: 0, cout: 4, pk: 3, ps: 2, padC: 2, padHW: 1}

// tinyRecogniser has the recogniser's interface (1×3×150×150 → 1×128) and
// every operator the converter emits, with a few hundred weights, so the
// whole load path can be fuzzed without the 22 MB model.
func tinyRecogniser(t testing.TB) []byte {
	t.Helper()
	b, err := tinyRecogniserWith(tinyDefault)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tinyRecogniserWith(sh tinyShape) ([]byte, error) {
	g := onnx.NewGraph("tiny")
	g.Input(convert.InputName, 1, 3, ChipSide, ChipSide)
	w := make([]float32, sh.cout*3*sh.k*sh.k)
	for i := range w {
		w[i] = float32(i%7-3) / 10
	}
	b := make([]float32, sh.cout)
	for i := range b {
		b[i] = float32(i%3) / 10
	}
	c := sh.cout + sh.padC
	fc := make([]float32, Dim*c)
	for i := range fc {
		fc[i] = float32(i%11-5) / 100
	}
	steps := []error{
		g.Float("mean", []int64{1, 3, 1, 1}, convert.MeanRGB[:]),
		g.Float("div", []int64{1}, []float32{255}),
		g.Float("w", []int64{sh.cout, 3, sh.k, sh.k}, w),
		g.Float("b", []int64{sh.cout}, b),
		g.Int64s("pads", []int64{0, 0, 0, 0, 0, sh.padC, sh.padHW, sh.padHW}),
		g.Float("fc", []int64{Dim, c}, fc),
		g.Float("fc_b", []int64{Dim}, make([]float32, Dim)),
		g.Node("Sub", "sub", []string{convert.InputName, "mean"}, []string{"c"}),
		g.Node("Div", "div", []string{"c", "div"}, []string{"n"}),
		g.Node("Conv", "conv", []string{"n", "w", "b"}, []string{"conv"}, onnx.Ints("kernel_shape", sh.k, sh.k),
			onnx.Ints("strides", sh.s, sh.s), onnx.Ints("pads", sh.p, sh.p, sh.p, sh.p), onnx.Ints("dilations", 1, 1), onnx.Int("group", 1)),
		g.Node("Relu", "relu", []string{"conv"}, []string{"relu"}),
		g.Node("MaxPool", "max", []string{"relu"}, []string{"max"}, onnx.Ints("kernel_shape", sh.pk, sh.pk), onnx.Ints("strides", sh.ps, sh.ps)),
		g.Node("AveragePool", "avg", []string{"max"}, []string{"avg"}, onnx.Ints("kernel_shape", 2, 2), onnx.Ints("strides", 2, 2)),
		g.Node("Pad", "pad", []string{"avg", "pads"}, []string{"pad"}, onnx.String("mode", "constant")),
		g.Node("Add", "add", []string{"pad", "pad"}, []string{"add"}),
		g.Node("GlobalAveragePool", "gap", []string{"add"}, []string{"gap"}),
		g.Node("Flatten", "flat", []string{"gap"}, []string{"flat"}, onnx.Int("axis", 1)),
		g.Node("Gemm", "fc", []string{"flat", "fc", "fc_b"}, []string{convert.OutputName}, onnx.Int("transB", 1)),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	g.Output(convert.OutputName, 1, Dim)
	return g.Model("laned-test", "tiny", 11)
}

func TestLoadTinyRecogniser(t *testing.T) {
	chip := testChip(t, 4)
	defer chip.Close()
	if !enginesAgree(t, tinyRecogniser(t), chip) {
		t.Fatal("the tiny recogniser did not load")
	}
}

// enginesAgree loads data on both engines. Either both refuse it, or both
// run it and, when its constants are of a trained net's size (|v| ≤ 1e3),
// give the same template within 1e-4 of its largest value. (With a
// constant like −5.8e29, which the fuzzer found, the result rests on
// cancellation between huge intermediates and so on each engine's order of
// float operations: OpenCV gave zeros, oneDNN 1e18.) It reports whether the
// engines ran the model.
func enginesAgree(t *testing.T, data []byte, chip gocv.Mat) bool {
	t.Helper()
	var outs [2][]float32
	var errs [2]error
	for i, eng := range []Engine{EngineOneDNN, EngineOpenCV} {
		e, err := load(data, Options{Engine: eng})
		if err != nil {
			errs[i] = err
			continue
		}
		v, err := e.Embed(chip)
		e.Close()
		if err != nil || len(v) != Dim {
			t.Fatalf("%s: loaded, then embed gave %d values, %v", eng, len(v), err)
		}
		outs[i] = v
	}
	if (errs[0] == nil) != (errs[1] == nil) {
		t.Fatalf("engines disagree on loading: onednn %v, opencv %v", errs[0], errs[1])
	}
	if errs[0] != nil {
		return false
	}
	if largestConstant(t, data) > 1e3 {
		return true
	}
	var peak, diff float64
	for i := range outs[0] {
		peak = max(peak, math.Abs(float64(outs[1][i])))
		diff = max(diff, math.Abs(float64(outs[0][i]-outs[1][i])))
	}
	if diff > 1e-4*max(1, peak) {
		t.Fatalf("engines differ by %.3g (largest value %.3g)", diff, peak)
	}
	return true
}

// FuzzLoad: whatever bytes the model file holds, both engines refuse them,
// or both give an embedder that runs and they agree. An OpenCV abort (a C++
// exception through cgo) kills the fuzz worker and is reported as a crash,
// so this proves onnx.Check covers what OpenCV's importer would choke on.
func FuzzLoad(f *testing.F) {
	f.Add(tinyRecogniser(f))
	f.Add([]byte{})
	f.Add([]byte("\x08\x07"))
	chip := testChip(f, 3)
	defer chip.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		enginesAgree(t, data, chip)
	})
}

// FuzzLoadShapes varies the tiny recogniser's kernels, strides, paddings
// and channel counts: whatever onnx.Check accepts, both engines must build
// and run with the same result (an abort kills the fuzz worker); whatever
// they cannot, Check refuses.
func FuzzLoadShapes(f *testing.F) {
	d := tinyDefault
	f.Add(uint8(d.k), uint8(d.s), uint8(d.p), uint8(d.cout), uint8(d.pk), uint8(d.ps), uint8(d.padC), uint8(d.padHW))
	f.Add(uint8(7), uint8(2), uint8(0), uint8(8), uint8(3), uint8(2), uint8(8), uint8(0))
	f.Add(uint8(3), uint8(1), uint8(1), uint8(2), uint8(2), uint8(2), uint8(0), uint8(0))
	f.Add(uint8(0), uint8(0), uint8(3), uint8(0), uint8(9), uint8(0), uint8(200), uint8(99))
	chip := testChip(f, 3)
	defer chip.Close()
	f.Fuzz(func(t *testing.T, k, s, p, cout, pk, ps, padC, padHW uint8) {
		if k > 15 || cout > 32 {
			return // keep each run small; size limits are Check's table tests
		}
		data, err := tinyRecogniserWith(tinyShape{int64(k), int64(s), int64(p), int64(cout), int64(pk), int64(ps), int64(padC), int64(padHW)})
		if err != nil {
			return // the builder refused it (a zero or negative size)
		}
		enginesAgree(t, data, chip)
	})
}

// largestConstant is the largest magnitude among a model's float constants.
func largestConstant(t *testing.T, data []byte) float64 {
	m, err := onnx.Parse(data)
	if err != nil {
		t.Fatalf("model ran but does not parse: %v", err)
	}
	var peak float64
	for _, in := range m.GetGraph().GetInitializer() {
		for _, v := range in.GetFloatData() {
			peak = max(peak, math.Abs(float64(v)))
		}
		for i := 0; i+4 <= len(in.GetRawData()); i += 4 {
			peak = max(peak, math.Abs(float64(math.Float32frombits(binary.LittleEndian.Uint32(in.GetRawData()[i:])))))
		}
	}
	return peak
}
