package embed

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/models/onnx"
)

// TestOpenRefusesBadModels: a missing, empty, truncated, foreign or
// structurally altered file is an error naming it, never an OpenCV abort.
func TestOpenRefusesBadModels(t *testing.T) {
	good, err := os.ReadFile(lanedtest.RecognitionModel(t))
	if err != nil {
		t.Fatal(err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	altered := func(mutate func(m *onnx.ModelProto)) []byte {
		c := proto.Clone(&m).(*onnx.ModelProto)
		mutate(c)
		b, err := proto.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nodeAttr := func(m *onnx.ModelProto, node, attr string) *onnx.AttributeProto {
		for _, n := range m.Graph.Node {
			for _, a := range n.Attribute {
				if n.Name == node && a.Name == attr {
					return a
				}
			}
		}
		t.Fatalf("no attribute %s on %s", attr, node)
		return nil
	}
	tests := []struct {
		file string
		data []byte
		want string
	}{
		{"empty.onnx", []byte{}, "not a regular file of 1.."},
		{"truncated.onnx", good[:len(good)/2], "parse onnx model"},
		{"text.onnx", []byte("not a model at all\n"), "parse onnx model"},
		{"header.onnx", good[:64], "parse onnx model"},
		{"kernel.onnx", altered(func(m *onnx.ModelProto) {
			nodeAttr(m, "conv64_1/conv1", "kernel_shape").Ints = []int64{5, 5}
		}), "kernel_shape [5 5] differs"},
		{"stride.onnx", altered(func(m *onnx.ModelProto) {
			nodeAttr(m, "conv128_down/conv1", "strides").Ints = []int64{1, 1}
		}), "shapes"},
		{"weights.onnx", altered(func(m *onnx.ModelProto) {
			w := m.Graph.Initializer[len(m.Graph.Initializer)/2]
			w.RawData = w.RawData[:len(w.RawData)-4]
		}), "float data does not fill"},
		{"op.onnx", altered(func(m *onnx.ModelProto) { m.Graph.Node[5].OpType = "Sigmoid" }), "operator not supported"},
		{"input112.onnx", altered(func(m *onnx.ModelProto) {
			d := m.Graph.Input[0].Type.GetTensorType().Shape.Dim
			d[2].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: 112}
			d[3].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: 112}
		}), "differ"},
		{"output64.onnx", altered(func(m *onnx.ModelProto) {
			m.Graph.Output[0].Type.GetTensorType().Shape.Dim[1].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: 64}
		}), "declared [1 64], computes [1 128]"},
		{"renamed.onnx", altered(func(m *onnx.ModelProto) {
			last := m.Graph.Node[len(m.Graph.Node)-1]
			last.Output[0], m.Graph.Output[0].Name = "out", "out"
		}), "not the face recognition net"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			e, err := Open(p)
			if err == nil {
				e.Close()
			}
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s and containing %q", err, p, tc.want)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing.onnx")); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: err = %v", err)
	}
}

// TestOpenSurvivesFlippedBytes flips single bytes in the graph's head (the
// nodes, their attributes and the first initializers' headers): each
// altered file is refused or, when the flip only touched a name or a
// weight, loads and embeds to finite values. Either way the process lives.
func TestOpenSurvivesFlippedBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the model many times")
	}
	good, err := os.ReadFile(lanedtest.RecognitionModel(t))
	if err != nil {
		t.Fatal(err)
	}
	chip := testChip(t, 2)
	defer chip.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	refused, loaded := 0, 0
	for i := 0; i < 40; i++ {
		off := rng.IntN(8 << 10)
		data := bytes.Clone(good)
		data[off] ^= byte(1 + rng.IntN(255))
		p := filepath.Join(dir, "flipped.onnx")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := Open(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("flip at %d: error does not name the file: %v", off, err)
			}
			refused++
			continue
		}
		loaded++
		v, err := e.Embed(chip)
		e.Close()
		if err != nil {
			t.Fatalf("flip at %d: loaded, then embed failed: %v", off, err)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("flip at %d: template holds %v", off, x)
			}
		}
	}
	t.Logf("40 single-byte flips: %d refused, %d loaded and ran", refused, loaded)
}
