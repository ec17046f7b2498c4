package onnx

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// detectorModel uses the operators DetectorOps adds, as BlazeFace's export
// does: x NHWC[1,4,4,2] → Transpose → depthwise Conv → MaxPool → Concat
// with zeros → Transpose → Reshape → y[1,8,4]. Its reshape target is a raw
// int64 initializer, as that export stores them.
func detectorModel(t testing.TB) []byte {
	t.Helper()
	g := NewGraph("detector")
	g.Input("x", 1, 4, 4, 2)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.Float("dww", []int64{2, 1, 3, 3}, make([]float32, 18)))
	must(g.Int64s("zshape", []int64{1, 2, 2, 2}))
	raw := make([]byte, 24)
	for i, v := range []int64{1, -1, 4} {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	g.g.Initializer = append(g.g.Initializer, &TensorProto{Name: "shape", Dims: []int64{3}, DataType: int32(TensorProto_INT64), RawData: raw})
	must(g.Node("Transpose", "nchw", []string{"x"}, []string{"nchw"}, Ints("perm", 0, 3, 1, 2)))                                               // 1,2,4,4
	must(g.Node("Conv", "dw", []string{"nchw", "dww"}, []string{"dw"}, Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1), Int("group", 2))) // 1,2,4,4
	must(g.Node("MaxPool", "pool", []string{"dw"}, []string{"pool"}, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)))                       // 1,2,2,2
	must(g.Node("ConstantOfShape", "zeros", []string{"zshape"}, []string{"zeros"}))
	must(g.Node("Concat", "cat", []string{"pool", "zeros"}, []string{"cat"}, Int("axis", 1)))      // 1,4,2,2
	must(g.Node("Transpose", "nhwc", []string{"cat"}, []string{"nhwc"}, Ints("perm", 0, 2, 3, 1))) // 1,2,2,4
	must(g.Node("Reshape", "y", []string{"nhwc", "shape"}, []string{"y"}))                         // 1,4,4
	g.Output("y", 1, 4, 4)
	b, err := g.Model("test", "1", 11)
	must(err)
	return b
}

func TestCheckOpsDetector(t *testing.T) {
	m, err := Parse(detectorModel(t))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := CheckOps(m, DetectorOps)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(outs["y"], []int64{1, 4, 4}) {
		t.Fatalf("outputs %v, want y [1 4 4]", outs)
	}
	if _, err := Check(m); err == nil || !strings.Contains(err.Error(), "Transpose \"nchw\"): operator not supported") {
		t.Fatalf("the recogniser's subset accepted the detector's operators: %v", err)
	}
}

func TestCheckOpsDetectorRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(m *ModelProto)
		want   string
	}{
		{"perm repeats", func(m *ModelProto) { attr(node(m, "nchw"), "perm").Ints = []int64{0, 1, 1, 2} }, "not a permutation"},
		{"perm short", func(m *ModelProto) { attr(node(m, "nchw"), "perm").Ints = []int64{0, 1} }, "perm [0 1]"},
		{"group does not divide", func(m *ModelProto) { attr(node(m, "dw"), "group").I = 3 }, "group 3 does not divide"},
		{"zero shape", func(m *ModelProto) { init1(m, "zshape").Int64Data[1] = 0 }, "empty or larger"},
		{"concat off axis", func(m *ModelProto) { init1(m, "zshape").Int64Data[2] = 3 }, "differ off axis 1"},
		{"concat axis", func(m *ModelProto) { attr(node(m, "cat"), "axis").I = 4 }, "axis 4 out of range"},
		{"reshape size", func(m *ModelProto) { binary.LittleEndian.PutUint64(init1(m, "shape").RawData[16:], 3) }, "does not fit"},
		{"reshape two -1", func(m *ModelProto) { binary.LittleEndian.PutUint64(init1(m, "shape").RawData[0:], ^uint64(0)) }, "not supported"},
		{"raw int64 short", func(m *ModelProto) { s := init1(m, "shape"); s.RawData = s.RawData[:20] }, "int64 data does not fill"},
		{"reshape shape not constant", func(m *ModelProto) { node(m, "y").Input[1] = "pool" }, "shape must be a 1-D int64 constant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m ModelProto
			if err := proto.Unmarshal(detectorModel(t), &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&m)
			_, err := CheckOps(&m, DetectorOps)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
