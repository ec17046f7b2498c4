package onnx

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// tinyModel uses every operator Check allows: x[1,3,8,8] → y[1,5].
func tinyModel(t testing.TB) []byte {
	t.Helper()
	g := NewGraph("tiny")
	g.Input("x", 1, 3, 8, 8)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.Float("mean", []int64{1, 3, 1, 1}, []float32{1, 2, 3}))
	must(g.Float("two", []int64{1}, []float32{2}))
	must(g.Float("w", []int64{4, 3, 3, 3}, make([]float32, 4*3*3*3)))
	must(g.Float("b", []int64{4}, []float32{1, 2, 3, 4}))
	must(g.Int64s("pads", []int64{0, 0, 0, 0, 0, 2, 1, 1}))
	must(g.Float("fc", []int64{5, 6}, make([]float32, 30)))
	must(g.Float("fc_b", []int64{5}, make([]float32, 5)))
	must(g.Node("Sub", "sub", []string{"x", "mean"}, []string{"centred"}))
	must(g.Node("Div", "div", []string{"centred", "two"}, []string{"norm"}))
	must(g.Node("Conv", "conv", []string{"norm", "w", "b"}, []string{"conv"},
		Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("dilations", 1, 1), Int("group", 1)))
	must(g.Node("Relu", "relu", []string{"conv"}, []string{"relu"})) // 1,4,4,4
	must(g.Float("slope", []int64{4, 1, 1}, []float32{0.25, 0.5, -1, 2}))
	must(g.Node("PRelu", "prelu", []string{"relu", "slope"}, []string{"prelu"}))
	must(g.Node("MaxPool", "max", []string{"prelu"}, []string{"max"}, Ints("kernel_shape", 2, 2))) // 1,4,3,3
	must(g.Node("AveragePool", "avg", []string{"max"}, []string{"avg"},
		Ints("kernel_shape", 2, 2), Ints("strides", 2, 2))) // 1,4,1,1
	must(g.Node("Add", "add", []string{"avg", "avg"}, []string{"add"}))
	must(g.Node("Pad", "pad", []string{"add", "pads"}, []string{"pad"}, String("mode", "constant"))) // 1,6,2,2
	must(g.Node("GlobalAveragePool", "gap", []string{"pad"}, []string{"gap"}))
	must(g.Node("Flatten", "flat", []string{"gap"}, []string{"flat"}, Int("axis", 1)))
	must(g.Node("Gemm", "fc", []string{"flat", "fc", "fc_b"}, []string{"y"}, Int("transB", 1)))
	g.Output("y", 1, 5)
	b, err := g.Model("test", "1", 11)
	must(err)
	return b
}

func TestCheckAcceptsTinyModel(t *testing.T) {
	m, err := Parse(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Check(m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(outs["y"], []int64{1, 5}) {
		t.Fatalf("outputs %v, want y [1 5]", outs)
	}
}

func node(m *ModelProto, name string) *NodeProto {
	for _, n := range m.Graph.Node {
		if n.Name == name {
			return n
		}
	}
	panic("no node " + name)
}

func attr(n *NodeProto, name string) *AttributeProto {
	for _, a := range n.Attribute {
		if a.Name == name {
			return a
		}
	}
	panic("no attribute " + name)
}

func init1(m *ModelProto, name string) *TensorProto {
	for _, t := range m.Graph.Initializer {
		if t.Name == name {
			return t
		}
	}
	panic("no initializer " + name)
}

// TestCheckRejects: each alteration a damaged or foreign file could carry
// is refused with an error naming the node or value.
func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *ModelProto)
		want   string
	}{
		{"unknown op", func(m *ModelProto) { node(m, "relu").OpType = "LeakyRelu" }, `LeakyRelu "relu"): operator not supported`},
		{"foreign domain", func(m *ModelProto) { node(m, "relu").Domain = "com.microsoft" }, "domain"},
		{"undefined input", func(m *ModelProto) { node(m, "relu").Input[0] = "nowhere" }, `input "nowhere" is not defined`},
		{"use before def", func(m *ModelProto) { g := m.Graph; g.Node[3], g.Node[4] = g.Node[4], g.Node[3] }, "not defined before use"},
		{"output twice", func(m *ModelProto) { node(m, "max").Output[0] = "relu" }, `value "relu" defined twice`},
		{"kernel vs weights", func(m *ModelProto) { attr(node(m, "conv"), "kernel_shape").Ints = []int64{5, 5} }, "kernel_shape [5 5] differs"},
		{"weights short", func(m *ModelProto) { w := init1(m, "w"); w.RawData = w.RawData[:8] }, `initializer "w": float data does not fill`},
		{"weights dims", func(m *ModelProto) { init1(m, "w").Dims[1] = 4 }, "initializer"},
		{"channels", func(m *ModelProto) { w := init1(m, "w"); w.Dims = []int64{3, 4, 3, 3} }, "weights take 4 channels, input has 3"},
		{"nan weight", func(m *ModelProto) { copy(init1(m, "w").RawData[8:], []byte{0, 0, 0xc0, 0x7f}) }, `initializer "w": value 2 is not finite`},
		{"zero dim", func(m *ModelProto) { init1(m, "b").Dims = []int64{0} }, "empty or larger"},
		{"huge dim", func(m *ModelProto) { init1(m, "b").Dims = []int64{1 << 40} }, "empty or larger"},
		{"group", func(m *ModelProto) { attr(node(m, "conv"), "group").I = 2 }, "group 1"},
		{"zero stride", func(m *ModelProto) { attr(node(m, "conv"), "strides").Ints = []int64{0, 1} }, "strides value 0"},
		{"pads rank", func(m *ModelProto) { attr(node(m, "conv"), "pads").Ints = []int64{1, 1} }, "pads has 2 values"},
		{"kernel too big", func(m *ModelProto) { attr(node(m, "max"), "kernel_shape").Ints = []int64{9, 9} }, "larger than padded input"},
		{"attr type", func(m *ModelProto) { attr(node(m, "conv"), "group").Type = AttributeProto_FLOAT }, `attribute "group" has type`},
		{"unknown attr", func(m *ModelProto) { node(m, "relu").Attribute = []*AttributeProto{Int("alpha", 1)} }, `attribute "alpha" not supported`},
		{"pad mode", func(m *ModelProto) { attr(node(m, "pad"), "mode").S = []byte("reflect") }, `mode "reflect"`},
		{"negative pad", func(m *ModelProto) { init1(m, "pads").Int64Data[5] = -1 }, "non-negative"},
		{"pad length", func(m *ModelProto) { p := init1(m, "pads"); p.Int64Data = p.Int64Data[:4]; p.Dims = []int64{4} }, "constant int64 of 8"},
		{"broadcast", func(m *ModelProto) { init1(m, "mean").Dims = []int64{1, 1, 3, 1} }, "does not broadcast"},
		{"prelu slope shape", func(m *ModelProto) { init1(m, "slope").Dims = []int64{1, 4, 1} }, "slope has shape [1 4 1], want one value per channel [4 1 1]"},
		{"prelu slope activation", func(m *ModelProto) { node(m, "prelu").Input[1] = "conv" }, "slope must be a constant"},
		{"gemm k", func(m *ModelProto) { init1(m, "fc").Dims = []int64{6, 5} }, "does not take input"},
		{"gemm alpha", func(m *ModelProto) { node(m, "fc").Attribute = append(node(m, "fc").Attribute, FloatAttr("alpha", 2)) }, "alpha 2"},
		{"declared output", func(m *ModelProto) { m.Graph.Output[0] = floatValue("y", []int64{1, 128}) }, "declared [1 128], computes [1 5]"},
		{"output missing", func(m *ModelProto) { m.Graph.Output[0].Name = "z" }, `output "z" is never computed`},
		{"dynamic input", func(m *ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[0].Value = &TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		}, "not a fixed positive size"},
		{"opset", func(m *ModelProto) { m.OpsetImport[0].Version = 18 }, "opset version 18"},
		{"no graph", func(m *ModelProto) { m.Graph = nil }, "no graph"},
		{"unknown field", func(m *ModelProto) {
			node(m, "relu").ProtoReflect().SetUnknown(protowire.AppendTag(nil, 6, protowire.BytesType))
		}, "NodeProto has fields laned does not read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m ModelProto
			if err := proto.Unmarshal(tinyModel(t), &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&m)
			_, err := Check(&m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBuilderRefusesInconsistentGraphs(t *testing.T) {
	g := NewGraph("g")
	if err := g.Float("a", []int64{2, 2}, []float32{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "holds 4 values, got 3") {
		t.Errorf("short initializer: err = %v", err)
	}
	if err := g.Float("b", []int64{1}, []float32{1}); err != nil {
		t.Fatal(err)
	}
	if err := g.Node("Relu", "r", []string{"b"}, []string{"b"}); err == nil || !strings.Contains(err.Error(), `"b" defined twice`) {
		t.Errorf("redefined value: err = %v", err)
	}
}

func TestModelIsDeterministic(t *testing.T) {
	if a, b := tinyModel(t), tinyModel(t); !slices.Equal(a, b) {
		t.Fatal("the same graph serialised to different bytes")
	}
}

func TestParseRejects(t *testing.T) {
	good := tinyModel(t)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, not a model"),
		"truncated": good[:len(good)-7],
	} {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// FuzzParseCheck: no input makes Parse or Check panic, and what Check
// accepts (with either operator set) has computed outputs of positive size.
func FuzzParseCheck(f *testing.F) {
	f.Add(tinyModel(f))
	f.Add(detectorModel(f))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x07, 0x3a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		for _, ops := range []Ops{RecogniserOps, DetectorOps} {
			outs, err := CheckOps(m, ops)
			if err != nil {
				continue
			}
			for name, shape := range outs {
				if _, err := elems(shape); err != nil {
					t.Fatalf("accepted output %q with shape %v", name, shape)
				}
			}
		}
	})
}
