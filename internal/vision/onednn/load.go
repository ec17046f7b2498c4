package onednn

import "C"

import (
	"errors"
	"fmt"
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

// Load checks m with onnx.CheckOps (onnx.DetectorOps: every operator this
// package runs; static shapes) and builds it on oneDNN: one primitive per
// node, with a Relu folded into the Conv, Add, Sub, Div or Gemm that is its
// only input, a PRelu handed to the Conv that is its only input (a oneDNN
// post-op where oneDNN has a fast kernel for it, else a PReLU step right
// after the conv), and a
// residual Add folded into the Conv before it (the Conv accumulates into
// the other operand's buffer when nothing reads it later). The graph must
// have one input. Weights are copied; m is not kept.
func Load(m *onnx.ModelProto) (*Net, error) {
	shapes, err := onnx.CheckOps(m, onnx.DetectorOps)
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
	if len(inputs) != 1 {
		return nil, fmt.Errorf("onednn load: want one input, got %d", len(inputs))
	}
	net := &Net{}
	for _, d := range inputs[0].GetType().GetTensorType().GetShape().GetDim() {
		net.inShape = append(net.inShape, d.GetDimValue())
	}
	net.inLen = volume(net.inShape)
	for _, o := range g.Output {
		net.outNames = append(net.outNames, o.GetName())
		net.outShapes = append(net.outShapes, shapes[o.GetName()])
		net.outLen += volume(shapes[o.GetName()])
	}
	onThread(func() {
		if net.n, err = newNet(); err != nil {
			return
		}
		if err = net.build(g, consts, inputs[0].GetName()); err != nil {
			net.n.free()
			err = fmt.Errorf("onednn load: %w", err)
		}
	})
	if err != nil {
		return nil, err
	}
	return net, nil
}

func volume(dims []int64) int {
	v := 1
	for _, d := range dims {
		v *= int(d)
	}
	return v
}

// build makes one engine step per node of g and finds the input and output
// tensors. It runs on the oneDNN thread.
func (m *Net) build(g *onnx.GraphProto, consts map[string]*onnx.TensorProto, inName string) error {
	b := &builder{n: m.n, inName: inName, consts: consts, ids: map[string]int{}, consumers: map[string][]int{}}
	for i, node := range g.Node {
		for _, in := range node.Input {
			b.consumers[in] = append(b.consumers[in], i)
		}
	}
	for _, name := range m.outNames {
		b.consumers[name] = append(b.consumers[name], -1) // a graph output is never fused away
	}
	var err error
	if m.in, err = m.n.input(m.inShape); err != nil {
		return err
	}
	b.ids[inName] = m.in
	fused := map[int]bool{}
	for i, node := range g.Node {
		if fused[i] {
			continue
		}
		if err := b.node(g.Node, i, fused); err != nil {
			return fmt.Errorf("node %d (%s %q): %w", i, node.GetOpType(), node.GetName(), err)
		}
	}
	for i, name := range m.outNames {
		id, err := b.tensor(name)
		if err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		got, err := m.n.dims(id)
		if err != nil {
			return err
		}
		if !slices.Equal(got, m.outShapes[i]) {
			return fmt.Errorf("output %q computes %v, onnx.Check says %v", name, got, m.outShapes[i])
		}
		m.outs = append(m.outs, C.int(id))
	}
	return nil
}

type builder struct {
	n         *net
	inName    string
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
	id, err := b.n.constant(t.GetDims(), onnx.Floats(t))
	if err != nil {
		return 0, fmt.Errorf("constant %q: %w", name, err)
	}
	b.ids[name] = id
	return id, nil
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
	return b.onlyReader(nodes, i, "Relu")
}

// onlyReader returns the index of the node of type op that is the only
// reader of node i's output, or -1.
func (b *builder) onlyReader(nodes []*onnx.NodeProto, i int, op string) int {
	c := b.consumers[nodes[i].Output[0]]
	if len(c) != 1 || c[0] <= i || nodes[c[0]].GetOpType() != op {
		return -1
	}
	return c[0]
}

// residualAfter finds a residual connection after Conv node i: its output's
// only reader is an Add whose other input x is an activation that nothing
// reads after the Conv. The Conv can then add into x's buffer in place.
// It returns the Add's index and x, or -1.
func (b *builder) residualAfter(nodes []*onnx.NodeProto, i int) (int, string) {
	y := nodes[i].Output[0]
	c := b.consumers[y]
	if len(c) != 1 || c[0] <= i || nodes[c[0]].GetOpType() != "Add" {
		return -1, ""
	}
	add := nodes[c[0]]
	if len(add.Input) != 2 || add.Input[0] == add.Input[1] {
		return -1, ""
	}
	x := add.Input[0]
	if x == y {
		x = add.Input[1]
	}
	if _, computed := b.ids[x]; !computed || b.consts[x] != nil || x == b.inName {
		return -1, ""
	}
	for _, k := range b.consumers[x] {
		if k != c[0] && (k < 0 || k >= i) {
			return -1, "" // read later, or a graph output
		}
	}
	return c[0], x
}

// int64Input is a node's constant int64 input (pads, shapes).
func (b *builder) int64Input(node *onnx.NodeProto, i int) ([]int64, error) {
	t := b.consts[node.Input[i]]
	if t == nil || onnx.TensorProto_DataType(t.GetDataType()) != onnx.TensorProto_INT64 {
		return nil, fmt.Errorf("input %d is not an int64 constant", i)
	}
	return onnx.Int64s(t), nil
}

// tensorInputs are the node's inputs that are tensors, not int64 settings.
var tensorInputs = map[string]int{"Pad": 1, "Reshape": 1, "ConstantOfShape": 0}

func (b *builder) node(nodes []*onnx.NodeProto, i int, fused map[int]bool) error {
	node := nodes[i]
	nt, ok := tensorInputs[node.GetOpType()]
	if !ok {
		nt = len(node.Input)
	}
	in := make([]int, 0, nt)
	for _, name := range node.Input[:nt] {
		id, err := b.tensor(name)
		if err != nil {
			return err
		}
		in = append(in, id)
	}
	out := node.Output[0]
	relu, prelu, sumInto := false, -1, -1
	last := i // the last node this step stands for
	if node.GetOpType() == "Conv" {
		if j, x := b.residualAfter(nodes, i); j >= 0 {
			sumInto, fused[j], last, out = b.ids[x], true, j, nodes[j].Output[0]
		}
	}
	switch node.GetOpType() {
	case "Conv", "Add", "Sub", "Div", "Gemm":
		if j := b.reluAfter(nodes, last); j >= 0 {
			relu, fused[j] = true, true
			out = nodes[j].Output[0]
		}
	}
	if node.GetOpType() == "Conv" && !relu {
		if j := b.onlyReader(nodes, last, "PRelu"); j >= 0 {
			slope, err := b.tensor(nodes[j].Input[1])
			if err != nil {
				return err
			}
			prelu, fused[j], out = slope, true, nodes[j].Output[0]
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
			attrInts(node, "pads", 0, 0, 0, 0), attrInts(node, "dilations", 1, 1), attrInt(node, "group", 1), relu, prelu, sumInto)
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
		var pads []int64
		if pads, err = b.int64Input(node, 1); err == nil {
			id, err = b.n.pad(in[0], pads)
		}
	case "Add", "Sub", "Div":
		kind := map[string]binaryKind{"Add": opAdd, "Sub": opSub, "Div": opDiv}[op]
		id, err = b.n.binary(kind, in[0], in[1], relu)
	case "Relu":
		id, err = b.n.relu(in[0])
	case "PRelu":
		id, err = b.n.prelu(in[0], in[1])
	case "Flatten", "Reshape":
		var dims []int64
		if dims, err = b.outDims(node, in[0]); err == nil {
			id, err = b.n.reshape(in[0], dims)
		}
	case "Transpose":
		var dims []int64
		if dims, err = b.n.dims(in[0]); err == nil {
			perm := attrInts(node, "perm")
			if perm == nil {
				for i := range dims {
					perm = append(perm, int64(len(dims)-1-i))
				}
			}
			id, err = b.n.transpose(in[0], perm)
		}
	case "Concat":
		var dims []int64
		if dims, err = b.n.dims(in[0]); err == nil {
			axis := attrInt(node, "axis", 0)
			if axis < 0 {
				axis += int64(len(dims))
			}
			id, err = b.n.concat(in, axis)
		}
	case "ConstantOfShape":
		var dims []int64
		if dims, err = b.int64Input(node, 0); err == nil {
			id, err = b.n.constant(dims, make([]float32, volume(dims)))
		}
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

// outDims is the shape a Flatten or Reshape node gives its input (already
// proved consistent by onnx.Check).
func (b *builder) outDims(node *onnx.NodeProto, src int) ([]int64, error) {
	x, err := b.n.dims(src)
	if err != nil {
		return nil, err
	}
	total := int64(volume(x))
	if node.GetOpType() == "Flatten" {
		axis := attrInt(node, "axis", 1)
		lo := int64(volume(x[:axis]))
		return []int64{lo, total / lo}, nil
	}
	shape, err := b.int64Input(node, 1)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(shape))
	infer, known := -1, int64(1)
	for i, d := range shape {
		switch {
		case d == 0:
			out[i] = x[i]
		case d == -1:
			infer = i
			continue
		default:
			out[i] = d
		}
		known *= out[i]
	}
	if infer >= 0 {
		out[infer] = total / known
	}
	return out, nil
}
