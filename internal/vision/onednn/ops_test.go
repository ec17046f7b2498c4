package onednn

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/laned/laned/internal/models/onnx"
)

// opCase is a one- or two-node graph from input "x" to output "y", with
// the values worked out by hand.
type opCase struct {
	name         string
	in, out      []int64
	consts       map[string][]float32 // name → values; shapes in dims
	dims         map[string][]int64
	int64s       map[string][]int64 // int64 constants (pads, shapes)
	nodes        func(g *onnx.Graph) error
	x, want      []float32
	wantLoadFail string
}

func (c opCase) model(t testing.TB) []byte {
	t.Helper()
	g := onnx.NewGraph(c.name)
	g.Input("x", c.in...)
	for name, v := range c.consts {
		if err := g.Float(name, c.dims[name], v); err != nil {
			t.Fatal(err)
		}
	}
	for name, v := range c.int64s {
		if err := g.Int64s(name, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.nodes(g); err != nil {
		t.Fatal(err)
	}
	g.Output("y", c.out...)
	data, err := g.Model("laned-test", c.name, 11)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func seq(lo, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + i)
	}
	return v
}

func node(op string, in []string, out string, attrs ...*onnx.AttributeProto) func(*onnx.Graph) error {
	return func(g *onnx.Graph) error { return g.Node(op, out, in, []string{out}, attrs...) }
}

var opCases = []opCase{
	{
		name: "conv", in: []int64{1, 1, 3, 3}, out: []int64{1, 1, 2, 2},
		consts: map[string][]float32{"w": {1, 1, 1, 1}, "b": {-12}},
		dims:   map[string][]int64{"w": {1, 1, 2, 2}, "b": {1}},
		nodes:  node("Conv", []string{"x", "w", "b"}, "y", onnx.Ints("kernel_shape", 2, 2)),
		x:      seq(1, 9), want: []float32{0, 4, 12, 16},
	},
	{
		name: "conv+relu, padded, strided", in: []int64{1, 1, 3, 3}, out: []int64{1, 1, 2, 2},
		consts: map[string][]float32{"w": {1, 1, 1, 1}, "b": {-14}},
		dims:   map[string][]int64{"w": {1, 1, 2, 2}, "b": {1}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Conv", "c", []string{"x", "w", "b"}, []string{"c"}, onnx.Ints("kernel_shape", 2, 2),
					onnx.Ints("strides", 2, 2), onnx.Ints("pads", 0, 0, 1, 1)),
				g.Node("Relu", "y", []string{"c"}, []string{"y"}))
		},
		// windows (0,0)=1+2+4+5, (0,2)=3+6, (2,0)=7+8, (2,2)=9, less 14
		x: seq(1, 9), want: []float32{0, 0, 1, 0},
	},
	{
		name: "max pool", in: []int64{1, 1, 3, 3}, out: []int64{1, 1, 2, 2},
		nodes: node("MaxPool", []string{"x"}, "y", onnx.Ints("kernel_shape", 2, 2)),
		x:     seq(1, 9), want: []float32{5, 6, 8, 9},
	},
	{
		name: "average pool, pads excluded", in: []int64{1, 1, 3, 3}, out: []int64{1, 1, 2, 2},
		nodes: node("AveragePool", []string{"x"}, "y", onnx.Ints("kernel_shape", 2, 2), onnx.Ints("strides", 2, 2),
			onnx.Ints("pads", 0, 0, 1, 1)),
		x: seq(1, 9), want: []float32{3, 4.5, 7.5, 9},
	},
	{
		name: "average pool, pads counted", in: []int64{1, 1, 3, 3}, out: []int64{1, 1, 2, 2},
		nodes: node("AveragePool", []string{"x"}, "y", onnx.Ints("kernel_shape", 2, 2), onnx.Ints("strides", 2, 2),
			onnx.Ints("pads", 0, 0, 1, 1), onnx.Int("count_include_pad", 1)),
		x: seq(1, 9), want: []float32{3, 2.25, 3.75, 2.25},
	},
	{
		name: "pad channels and bottom-right", in: []int64{1, 1, 2, 2}, out: []int64{1, 2, 3, 3},
		int64s: map[string][]int64{"pads": {0, 0, 0, 0, 0, 1, 1, 1}},
		nodes:  node("Pad", []string{"x", "pads"}, "y", onnx.String("mode", "constant")),
		x:      seq(1, 4), want: []float32{1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	},
	{
		name: "sub a broadcast constant, then relu", in: []int64{1, 2, 1, 2}, out: []int64{1, 2, 1, 2},
		consts: map[string][]float32{"m": {2, 1}},
		dims:   map[string][]int64{"m": {2, 1, 1}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(g.Node("Sub", "s", []string{"x", "m"}, []string{"s"}),
				g.Node("Relu", "y", []string{"s"}, []string{"y"}))
		},
		x: seq(1, 4), want: []float32{0, 0, 2, 3},
	},
	{
		name: "div by a scalar", in: []int64{1, 1, 1, 3}, out: []int64{1, 1, 1, 3},
		consts: map[string][]float32{"d": {4}},
		dims:   map[string][]int64{"d": {1}},
		nodes:  node("Div", []string{"x", "d"}, "y"),
		x:      seq(1, 3), want: []float32{0.25, 0.5, 0.75},
	},
	{
		name: "add a tensor to itself", in: []int64{1, 2, 1, 1}, out: []int64{1, 2, 1, 1},
		nodes: node("Add", []string{"x", "x"}, "y"),
		x:     []float32{-1, 3}, want: []float32{-2, 6},
	},
	{
		name: "relu alone", in: []int64{1, 1, 1, 4}, out: []int64{1, 1, 1, 4},
		nodes: node("Relu", []string{"x"}, "y"),
		x:     []float32{-2, -0.5, 0, 7}, want: []float32{0, 0, 0, 7},
	},
	{
		name: "global average pool", in: []int64{1, 2, 2, 2}, out: []int64{1, 2, 1, 1},
		nodes: node("GlobalAveragePool", []string{"x"}, "y"),
		x:     seq(1, 8), want: []float32{2.5, 6.5},
	},
	{
		// Internally NHWC: flatten must still give NCHW (row-major) order.
		name: "flatten keeps NCHW order", in: []int64{1, 2, 2, 2}, out: []int64{1, 8},
		nodes: node("Flatten", []string{"x"}, "y", onnx.Int("axis", 1)),
		x:     seq(1, 8), want: seq(1, 8),
	},
	{
		name: "gemm, B transposed, with bias", in: []int64{1, 2}, out: []int64{1, 3},
		consts: map[string][]float32{"B": {1, 0, 0, 1, 1, 1}, "C": {10, 20, 30}},
		dims:   map[string][]int64{"B": {3, 2}, "C": {3}},
		nodes:  node("Gemm", []string{"x", "B", "C"}, "y", onnx.Int("transB", 1)),
		x:      []float32{2, 5}, want: []float32{12, 25, 37},
	},
	{
		name: "gemm, B as is", in: []int64{1, 2}, out: []int64{1, 3},
		consts: map[string][]float32{"B": {1, 0, 1, 0, 1, 1}},
		dims:   map[string][]int64{"B": {2, 3}},
		nodes:  node("Gemm", []string{"x", "B"}, "y"),
		x:      []float32{2, 5}, want: []float32{2, 5, 7},
	},
	{
		// r is read by the conv and the add only: the conv adds into r's
		// buffer in place.
		name: "residual add folded into the conv", in: []int64{1, 1, 2, 2}, out: []int64{1, 1, 2, 2},
		consts: map[string][]float32{"w": {2}, "b": {-1}},
		dims:   map[string][]int64{"w": {1, 1, 1, 1}, "b": {1}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Relu", "r", []string{"x"}, []string{"r"}),
				g.Node("Conv", "c", []string{"r", "w", "b"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1)),
				g.Node("Add", "a", []string{"c", "r"}, []string{"a"}),
				g.Node("Relu", "y", []string{"a"}, []string{"y"}))
		},
		x: []float32{-1, 0, 1, 2}, want: []float32{0, 0, 2, 5},
	},
	{
		// r is read again after the add: it must survive, so no folding.
		name: "residual whose operand is read later", in: []int64{1, 1, 2, 2}, out: []int64{1, 1, 2, 2},
		consts: map[string][]float32{"w": {2}},
		dims:   map[string][]int64{"w": {1, 1, 1, 1}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Relu", "r", []string{"x"}, []string{"r"}),
				g.Node("Conv", "c", []string{"r", "w"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1)),
				g.Node("Add", "a", []string{"r", "c"}, []string{"a"}),
				g.Node("Add", "y", []string{"a", "r"}, []string{"y"}))
		},
		x: []float32{-1, 0, 1, 2}, want: []float32{0, 0, 4, 8},
	},
	{
		// r comes from a Reshape (row-major, not the activation layout):
		// the engine adds with a separate step instead.
		name: "residual onto a reshaped tensor", in: []int64{1, 4}, out: []int64{1, 1, 2, 2},
		consts: map[string][]float32{"w": {2}},
		dims:   map[string][]int64{"w": {1, 1, 1, 1}},
		int64s: map[string][]int64{"shape": {1, 1, 2, 2}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Reshape", "r", []string{"x", "shape"}, []string{"r"}),
				g.Node("Conv", "c", []string{"r", "w"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1)),
				g.Node("Add", "a", []string{"c", "r"}, []string{"a"}),
				g.Node("Relu", "y", []string{"a"}, []string{"y"}))
		},
		x: []float32{-1, 0, 1, 2}, want: []float32{0, 0, 3, 6},
	},
	{
		name: "transpose NHWC to NCHW", in: []int64{1, 2, 2, 3}, out: []int64{1, 3, 2, 2},
		nodes: node("Transpose", []string{"x"}, "y", onnx.Ints("perm", 0, 3, 1, 2)),
		x:     seq(0, 12), want: []float32{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11},
	},
	{
		name: "transpose then reshape, as BlazeFace's outputs", in: []int64{1, 2, 1, 2}, out: []int64{1, 2, 2},
		int64s: map[string][]int64{"shape": {1, -1, 2}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Transpose", "t", []string{"x"}, []string{"t"}, onnx.Ints("perm", 0, 2, 3, 1)),
				g.Node("Reshape", "y", []string{"t", "shape"}, []string{"y"}))
		},
		// NCHW [c0: 1 2][c1: 3 4] → NHWC (1,3),(2,4)
		x: seq(1, 4), want: []float32{1, 3, 2, 4},
	},
	{
		name: "concat zeros onto the channels, as BlazeFace pads", in: []int64{1, 1, 1, 2}, out: []int64{1, 3, 1, 2},
		int64s: map[string][]int64{"shape": {1, 2, 1, 2}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("ConstantOfShape", "z", []string{"shape"}, []string{"z"}),
				g.Node("Concat", "y", []string{"x", "z"}, []string{"y"}, onnx.Int("axis", 1)))
		},
		x: []float32{5, 6}, want: []float32{5, 6, 0, 0, 0, 0},
	},
	{
		name: "depthwise conv", in: []int64{1, 2, 1, 2}, out: []int64{1, 2, 1, 2},
		consts: map[string][]float32{"w": {2, -1}},
		dims:   map[string][]int64{"w": {2, 1, 1, 1}},
		nodes:  node("Conv", []string{"x", "w"}, "y", onnx.Ints("kernel_shape", 1, 1), onnx.Int("group", 2)),
		x:      seq(1, 4), want: []float32{2, 4, -3, -4},
	},
	{
		name: "prelu alone, one slope per channel", in: []int64{1, 2, 1, 2}, out: []int64{1, 2, 1, 2},
		consts: map[string][]float32{"s": {0.5, -2}},
		dims:   map[string][]int64{"s": {2, 1, 1}},
		nodes:  node("PRelu", []string{"x", "s"}, "y"),
		x:      []float32{-4, 3, -1, 0}, want: []float32{-2, 3, 2, 0},
	},
	{
		// The PRelu is the conv's only reader: a post-op of the conv.
		name: "prelu folded into the conv", in: []int64{1, 1, 1, 3}, out: []int64{1, 2, 1, 3},
		consts: map[string][]float32{"w": {1, -1}, "b": {-2, 0}, "s": {0.25, 3}},
		dims:   map[string][]int64{"w": {2, 1, 1, 1}, "b": {2}, "s": {2, 1, 1}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Conv", "c", []string{"x", "w", "b"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1)),
				g.Node("PRelu", "y", []string{"c", "s"}, []string{"y"}))
		},
		// channel 0: x−2 → −1, 0, 1 → −0.25, 0, 1; channel 1: −x → −1, −2, −3 → −3, −6, −9
		x: []float32{1, 2, 3}, want: []float32{-0.25, 0, 1, -3, -6, -9},
	},
	{
		// A residual conv followed by PRelu: the sum and the PReLU are both
		// post-ops, PReLU second.
		name: "residual add then prelu folded into the conv", in: []int64{1, 1, 2, 2}, out: []int64{1, 1, 2, 2},
		consts: map[string][]float32{"w": {-2}, "s": {0.5}},
		dims:   map[string][]int64{"w": {1, 1, 1, 1}, "s": {1, 1, 1}},
		nodes: func(g *onnx.Graph) error {
			return errors.Join(
				g.Node("Relu", "r", []string{"x"}, []string{"r"}),
				g.Node("Conv", "c", []string{"r", "w"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1)),
				g.Node("Add", "a", []string{"c", "r"}, []string{"a"}),
				g.Node("PRelu", "y", []string{"a", "s"}, []string{"y"}))
		},
		// r = 0 0 1 2; c = −2r; a = c + r = 0 0 −1 −2; prelu → 0 0 −0.5 −1
		x: []float32{-1, 0, 1, 2}, want: []float32{0, 0, -0.5, -1},
	},
	{
		name: "unsupported operator", in: []int64{1, 1, 1, 2}, out: []int64{1, 1, 1, 2},
		nodes:        node("Sigmoid", []string{"x"}, "y"),
		wantLoadFail: "operator not supported",
	},
}

func TestOps(t *testing.T) {
	for _, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			n, err := Parse(c.model(t))
			if c.wantLoadFail != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantLoadFail) {
					t.Fatalf("load: got %v, want an error with %q", err, c.wantLoadFail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if !slices.Equal(n.OutputShape(), c.out) || !slices.Equal(n.InputShape(), c.in) {
				t.Fatalf("shapes %v → %v, want %v → %v", n.InputShape(), n.OutputShape(), c.in, c.out)
			}
			got, err := n.Forward(c.x)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				if math.Abs(float64(got[i]-c.want[i])) > 1e-6 {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestForwardErrors(t *testing.T) {
	c := opCases[0]
	n, err := Parse(c.model(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Forward(make([]float32, 8)); err == nil || !strings.Contains(err.Error(), "input has 8 values, want 9") {
		t.Fatalf("short input: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := n.Forward(c.x); !errors.Is(err, ErrClosed) {
		t.Fatalf("forward after close: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("not a model"), c.model(t)[:40]} {
		if _, err := Parse(bad); err == nil {
			t.Fatalf("parsed %q", bad)
		}
	}
}

// TestConcurrentForward: several goroutines and several nets share the one
// oneDNN thread and each gets its own answers.
func TestConcurrentForward(t *testing.T) {
	var nets []*Net
	for _, c := range opCases[:4] {
		n, err := Parse(c.model(t))
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nets = append(nets, n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				i := g % len(nets)
				got, err := nets[i].Forward(opCases[i].x)
				if err != nil {
					errs <- err
					return
				}
				if !slices.Equal(got, opCases[i].want) {
					errs <- errors.New(opCases[i].name + ": wrong answer under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// FuzzParse: any bytes either fail to load or give a net that runs.
func FuzzParse(f *testing.F) {
	for _, c := range opCases {
		f.Add(c.model(f))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data)
		if err != nil {
			return
		}
		defer n.Close()
		if volume(n.InputShape()) > 1<<22 {
			return // a legal but huge input; not worth the fuzzer's time
		}
		in := make([]float32, volume(n.InputShape()))
		if _, err := n.Forward(in); err != nil {
			t.Fatalf("loaded, then forward failed: %v", err)
		}
	})
}
