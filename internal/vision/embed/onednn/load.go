package onednn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/laned/laned/internal/models/onnx"
)

// Parse parses a serialised model and loads it (see Load).
func Parse(data []byte) (*Net, error) {
	m, err := onnx.Parse(data)
	if err != nil {
		return nil, err
	}
	return Load(m)
}

// Load checks m with onnx.Check (laned's operator subset, static shapes)
// and builds it on oneDNN: one primitive per node, with a Relu folded into
// the Conv, Add, Sub, Div or Gemm that is its only input. The graph must
// have one input and one output. Weights are copied; m is not kept.
func Load(m *onnx.ModelProto) (*Net, error) {
	outs, err := onnx.Check(m)
	if err != nil {
		return nil, err
	}
	g := m.GetGraph()
	consts := map[string]*onnx.TensorProto{}
	for _, t := range g.Initializer {
		consts[t.GetName()] = t
	}
	var inputs []*onnx.ValueInfoProto
	for _, in := range g.Input {
		if consts[in.GetName()] == nil {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 || len(g.Output) != 1 {
		return nil, fmt.Errorf("onednn load: want one input and one output, got %d and %d", len(inputs), len(g.Output))
	}
	var inShape []int64
	for _, d := range inputs[0].GetType().GetTensorType().GetShape().GetDim() {
		inShape = append(inShape, d.GetDimValue())
	}
	outName := g.Output[0].GetName()

	m2 := &Net{inShape: inShape, inLen: volume(inShape), outShape: outs[outName], outLen: volume(outs[outName])}
	onThread(func() {
		if m2.n, err = newNet(); err != nil {
			return
		}
		if m2.in, m2.out, err = build(m2.n, g, consts, inputs[0].GetName(), outName, outs[outName]); err != nil {
			m2.n.free()
			err = fmt.Errorf("onednn load: %w", err)
		}
	})
	if err != nil {
		return nil, err
	}
	return m2, nil
}

// build makes one engine step per node of g on n and returns the input
// and output tensors.
func build(n *net, g *onnx.GraphProto, consts map[string]*onnx.TensorProto, inName, outName string, outShape []int64) (int, int, error) {
	b := &builder{n: n, consts: consts, ids: map[string]int{}, consumers: map[string][]int{}}
	for i, node := range g.Node {
		for _, in := range node.Input {
			b.consumers[in] = append(b.consumers[in], i)
		}
	}
	b.consumers[outName] = append(b.consumers[outName], -1) // a graph output is never fused away
	var inShape []int64
	for _, d := range g.Input[slices.IndexFunc(g.Input, func(v *onnx.ValueInfoProto) bool { return v.GetName() == inName })].GetType().GetTensorType().GetShape().GetDim() {
		inShape = append(inShape, d.GetDimValue())
	}
	inID, err := n.input(inShape)
	if err != nil {
		return 0, 0, err
	}
	b.ids[inName] = inID
	fused := map[int]bool{}
	for i, node := range g.Node {
		if fused[i] {
			continue
		}
		if err := b.node(g.Node, i, fused); err != nil {
			return 0, 0, fmt.Errorf("node %d (%s %q): %w", i, node.GetOpType(), node.GetName(), err)
		}
	}
	outID, ok := b.ids[outName]
	if !ok {
		return 0, 0, fmt.Errorf("output %q is never computed", outName)
	}
	got, err := n.dims(outID)
	if err != nil {
		return 0, 0, err
	}
	if !slices.Equal(got, outShape) {
		return 0, 0, fmt.Errorf("output %q computes %v, onnx.Check says %v", outName, got, outShape)
	}
	return inID, outID, nil
}

func volume(dims []int64) int {
	v := 1
	for _, d := range dims {
		v *= int(d)
	}
	return v
}

type builder struct {
	n         *net
	consts    map[string]*onnx.TensorProto
	ids       map[string]int   // tensor name → engine tensor
	consumers map[string][]int // tensor name → indexes of the nodes reading it (-1: graph output)
}

// tensor returns the engine tensor for name, making constants on first use.
func (b *builder) tensor(name string) (int, error) {
	if id, ok := b.ids[name]; ok {
		return id, nil
	}
	t := b.consts[name]
	if t == nil {
		return 0, fmt.Errorf("tensor %q is used before it is computed", name)
	}
	if onnx.TensorProto_DataType(t.GetDataType()) != onnx.TensorProto_FLOAT {
		return 0, fmt.Errorf("constant %q is not float", name)
	}
	id, err := b.n.constant(t.GetDims(), floats(t))
	if err != nil {
		return 0, fmt.Errorf("constant %q: %w", name, err)
	}
	b.ids[name] = id
	return id, nil
}

// floats returns a float initializer's values (raw little-endian or typed).
func floats(t *onnx.TensorProto) []float32 {
	if len(t.GetRawData()) == 0 {
		return t.GetFloatData()
	}
	raw := t.GetRawData()
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

func attrInts(n *onnx.NodeProto, name string, def ...int64) []int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetInts()
		}
	}
	return def
}

func attrInt(n *onnx.NodeProto, name string, def int64) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

// reluAfter returns the index of the Relu that is the only reader of node
// i's output, or -1.
func (b *builder) reluAfter(nodes []*onnx.NodeProto, i int) int {
	c := b.consumers[nodes[i].Output[0]]
	if len(c) != 1 || c[0] <= i || nodes[c[0]].GetOpType() != "Relu" {
		return -1
	}
	return c[0]
}

func (b *builder) node(nodes []*onnx.NodeProto, i int, fused map[int]bool) error {
	node := nodes[i]
	in := make([]int, 0, len(node.Input))
	for j, name := range node.Input {
		if node.GetOpType() == "Pad" && j == 1 {
			break // the pads are attributes, read below
		}
		id, err := b.tensor(name)
		if err != nil {
			return err
		}
		in = append(in, id)
	}
	out := node.Output[0]
	relu := false
	switch node.GetOpType() {
	case "Conv", "Add", "Sub", "Div", "Gemm":
		if j := b.reluAfter(nodes, i); j >= 0 {
			relu, fused[j] = true, true
			out = nodes[j].Output[0]
		}
	}
	var id int
	var err error
	switch op := node.GetOpType(); op {
	case "Conv":
		bias := -1
		if len(in) == 3 {
			bias = in[2]
		}
		id, err = b.n.conv(in[0], in[1], bias, attrInts(node, "strides", 1, 1),
			attrInts(node, "pads", 0, 0, 0, 0), attrInts(node, "dilations", 1, 1), relu)
	case "MaxPool", "AveragePool":
		kind := poolMax
		if op == "AveragePool" {
			kind = poolAvgExclude
			if attrInt(node, "count_include_pad", 0) == 1 {
				kind = poolAvgInclude
			}
		}
		id, err = b.n.pool(in[0], kind, attrInts(node, "kernel_shape"), attrInts(node, "strides", 1, 1),
			attrInts(node, "pads", 0, 0, 0, 0))
	case "GlobalAveragePool":
		id, err = b.n.globalAvgPool(in[0])
	case "Pad":
		p := b.consts[node.Input[1]]
		if p == nil {
			return errors.New("pads are not a constant")
		}
		id, err = b.n.pad(in[0], p.GetInt64Data())
	case "Add", "Sub", "Div":
		kind := map[string]binaryKind{"Add": opAdd, "Sub": opSub, "Div": opDiv}[op]
		id, err = b.n.binary(kind, in[0], in[1], relu)
	case "Relu":
		id, err = b.n.relu(in[0])
	case "Flatten":
		id, err = b.n.flatten(in[0], attrInt(node, "axis", 1))
	case "Gemm":
		c := -1
		if len(in) == 3 {
			c = in[2]
		}
		id, err = b.n.gemm(in[0], in[1], attrInt(node, "transB", 0) == 1, c, relu)
	default:
		return errors.New("operator not supported")
	}
	if err != nil {
		return err
	}
	b.ids[out] = id
	return nil
}
