package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxElems bounds any one tensor (activation or initializer): far above the
// face nets laned runs, far below what would exhaust a booth computer.
const maxElems = 1 << 28

// Check proves a parsed model is a self-consistent graph built only from the
// operators laned's converters emit (Conv, Relu, MaxPool, AveragePool, Pad,
// Add, Sub, Div, GlobalAveragePool, Flatten, Gemm, PRelu), with the attributes and
// shapes each of them allows, and returns the inferred shape of every graph
// output. OpenCV 4.6's DNN module aborts the process on a model it cannot
// build, so callers run Check before handing bytes to it: an altered or
// foreign file is then an error here, never a crash there.
//
// Check is deliberately narrower than ONNX: one batch of static shapes,
// group 1 convolutions, no auto_pad, no ceil_mode, constant zero padding
// only, no fields or operators outside laned's subset.
func Check(m *ModelProto) (map[string][]int64, error) { return CheckOps(m, RecogniserOps) }

// Ops is a set of operator types a check accepts; "GroupConv" stands for
// Conv with group > 1.
type Ops map[string]bool

// RecogniserOps is what the face recognition converter emits.
var RecogniserOps = Ops{
	"Conv": true, "Relu": true, "MaxPool": true, "AveragePool": true, "Pad": true, "Add": true,
	"Sub": true, "Div": true, "GlobalAveragePool": true, "Flatten": true, "Gemm": true,
	"PRelu": true,
}

// DetectorOps adds what the BlazeFace ONNX export uses: grouped (depthwise)
// convolutions, Transpose, Reshape, Concat and ConstantOfShape (zeros).
var DetectorOps = func() Ops {
	o := Ops{"GroupConv": true, "Transpose": true, "Reshape": true, "Concat": true, "ConstantOfShape": true}
	for k := range RecogniserOps {
		o[k] = true
	}
	return o
}()

// CheckOps is Check with the operator set ops instead of RecogniserOps.
func CheckOps(m *ModelProto, ops Ops) (map[string][]int64, error) {
	if err := noUnknownFields(m.ProtoReflect()); err != nil {
		return nil, fmt.Errorf("check onnx model: %w", err)
	}
	if err := checkOpset(m); err != nil {
		return nil, fmt.Errorf("check onnx model: %w", err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, errors.New("check onnx model: no graph")
	}
	c := &checker{shapes: map[string][]int64{}, consts: map[string]*TensorProto{}, ops: ops}
	for _, t := range g.Initializer {
		if err := c.initializer(t); err != nil {
			return nil, fmt.Errorf("check onnx model: initializer %q: %w", t.GetName(), err)
		}
	}
	for _, in := range g.Input {
		if _, isConst := c.consts[in.GetName()]; isConst {
			continue // older exporters also list initializers as inputs
		}
		shape, err := valueShape(in)
		if err != nil {
			return nil, fmt.Errorf("check onnx model: input %q: %w", in.GetName(), err)
		}
		if err := c.define(in.GetName(), shape); err != nil {
			return nil, fmt.Errorf("check onnx model: input: %w", err)
		}
	}
	for i, n := range g.Node {
		if err := c.node(n); err != nil {
			return nil, fmt.Errorf("check onnx model: node %d (%s %q): %w", i, n.GetOpType(), n.GetName(), err)
		}
	}
	if len(g.Output) == 0 {
		return nil, errors.New("check onnx model: graph has no outputs")
	}
	outs := map[string][]int64{}
	for _, o := range g.Output {
		got, ok := c.shapes[o.GetName()]
		if !ok {
			return nil, fmt.Errorf("check onnx model: output %q is never computed", o.GetName())
		}
		want, err := valueShape(o)
		if err != nil {
			return nil, fmt.Errorf("check onnx model: output %q: %w", o.GetName(), err)
		}
		if !slices.Equal(got, want) {
			return nil, fmt.Errorf("check onnx model: output %q is declared %v, computes %v", o.GetName(), want, got)
		}
		outs[o.GetName()] = got
	}
	return outs, nil
}

func checkOpset(m *ModelProto) error {
	found := false
	for _, o := range m.OpsetImport {
		if o.GetDomain() != "" && o.GetDomain() != "ai.onnx" {
			return fmt.Errorf("opset domain %q not supported", o.GetDomain())
		}
		if o.GetVersion() < 7 || o.GetVersion() > 13 {
			return fmt.Errorf("opset version %d outside 7..13", o.GetVersion())
		}
		found = true
	}
	if !found {
		return errors.New("no default-domain opset import")
	}
	return nil
}

// noUnknownFields refuses fields outside laned's subset of onnx.proto
// (subgraphs, sparse tensors, external data…): they would reach OpenCV
// unchecked.
func noUnknownFields(m protoreflect.Message) error {
	if len(m.GetUnknown()) > 0 {
		return fmt.Errorf("%s has fields laned does not read", m.Descriptor().Name())
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = noUnknownFields(l.Get(i).Message())
			}
		case fd.IsMap():
		default:
			err = noUnknownFields(v.Message())
		}
		return err == nil
	})
	return err
}

type checker struct {
	shapes map[string][]int64
	consts map[string]*TensorProto
	ops    Ops
}

func (c *checker) define(name string, shape []int64) error {
	if name == "" {
		return errors.New("value with no name")
	}
	if _, dup := c.shapes[name]; dup {
		return fmt.Errorf("value %q defined twice", name)
	}
	if _, err := elems(shape); err != nil {
		return fmt.Errorf("value %q: %w", name, err)
	}
	c.shapes[name] = shape
	return nil
}

func elems(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d <= 0 || d > maxElems || n > maxElems/d {
			return 0, fmt.Errorf("shape %v is empty or larger than %d values", shape, maxElems)
		}
		n *= d
	}
	return n, nil
}

func (c *checker) initializer(t *TensorProto) error {
	n, err := elems(t.Dims)
	if err != nil {
		return err
	}
	raw := int64(len(t.RawData))
	switch TensorProto_DataType(t.DataType) {
	case TensorProto_FLOAT:
		if len(t.Int64Data) > 0 || !(raw == 4*n && len(t.FloatData) == 0 || raw == 0 && int64(len(t.FloatData)) == n) {
			return fmt.Errorf("float data does not fill shape %v", t.Dims)
		}
		if i := nonFinite(t); i >= 0 {
			return fmt.Errorf("value %d is not finite", i)
		}
	case TensorProto_INT64:
		if len(t.FloatData) > 0 || !(raw == 8*n && len(t.Int64Data) == 0 || raw == 0 && int64(len(t.Int64Data)) == n) {
			return fmt.Errorf("int64 data does not fill shape %v", t.Dims)
		}
	default:
		return fmt.Errorf("data type %d not supported", t.DataType)
	}
	if err := c.define(t.Name, slices.Clone(t.Dims)); err != nil {
		return err
	}
	c.consts[t.Name] = t
	return nil
}

// Floats returns a checked float initializer's values.
func Floats(t *TensorProto) []float32 {
	raw := t.GetRawData()
	if len(raw) == 0 {
		return t.GetFloatData()
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// Int64s returns a checked int64 initializer's values.
func Int64s(t *TensorProto) []int64 {
	raw := t.GetRawData()
	if len(raw) == 0 {
		return t.GetInt64Data()
	}
	v := make([]int64, len(raw)/8)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return v
}

// nonFinite returns the index of the first NaN or ±Inf value of a float
// tensor, or -1.
func nonFinite(t *TensorProto) int {
	for i, v := range t.FloatData {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	for i := 0; i+4 <= len(t.RawData); i += 4 {
		// exponent bits all ones: Inf or NaN
		if binary.LittleEndian.Uint32(t.RawData[i:])&0x7f800000 == 0x7f800000 {
			return i / 4
		}
	}
	return -1
}

func valueShape(v *ValueInfoProto) ([]int64, error) {
	tt := v.GetType().GetTensorType()
	if tt == nil || TensorProto_DataType(tt.GetElemType()) != TensorProto_FLOAT {
		return nil, errors.New("not a float tensor")
	}
	dims := tt.GetShape().GetDim()
	if len(dims) == 0 {
		return nil, errors.New("no shape")
	}
	shape := make([]int64, len(dims))
	for i, d := range dims {
		if shape[i] = d.GetDimValue(); shape[i] <= 0 {
			return nil, fmt.Errorf("dimension %d is not a fixed positive size", i)
		}
	}
	return shape, nil
}

// attrs holds a node's attributes after checking each is one the operator
// takes, of the right type, given once.
type attrs map[string]*AttributeProto

func nodeAttrs(n *NodeProto, allowed map[string]AttributeProto_AttributeType) (attrs, error) {
	a := attrs{}
	for _, at := range n.Attribute {
		want, ok := allowed[at.GetName()]
		if !ok {
			return nil, fmt.Errorf("attribute %q not supported", at.GetName())
		}
		if at.GetType() != want {
			return nil, fmt.Errorf("attribute %q has type %v, want %v", at.GetName(), at.GetType(), want)
		}
		if _, dup := a[at.GetName()]; dup {
			return nil, fmt.Errorf("attribute %q given twice", at.GetName())
		}
		a[at.GetName()] = at
	}
	return a, nil
}

// ints returns an INTS attribute of length n, or def when absent.
func (a attrs) ints(name string, n int, lo int64, def ...int64) ([]int64, error) {
	at, ok := a[name]
	if !ok {
		return def, nil
	}
	v := at.GetInts()
	if len(v) != n {
		return nil, fmt.Errorf("attribute %s has %d values, want %d", name, len(v), n)
	}
	for _, x := range v {
		if x < lo || x > maxElems {
			return nil, fmt.Errorf("attribute %s value %d out of range", name, x)
		}
	}
	return v, nil
}

func (a attrs) int(name string, def int64) int64 {
	if at, ok := a[name]; ok {
		return at.GetI()
	}
	return def
}

// inputs resolves a node's inputs to their shapes; between min and max of
// them, all defined earlier.
func (c *checker) inputs(n *NodeProto, lo, hi int) ([][]int64, error) {
	if len(n.Input) < lo || len(n.Input) > hi {
		return nil, fmt.Errorf("%d inputs, want %d..%d", len(n.Input), lo, hi)
	}
	shapes := make([][]int64, len(n.Input))
	for i, in := range n.Input {
		s, ok := c.shapes[in]
		if !ok {
			return nil, fmt.Errorf("input %q is not defined before use", in)
		}
		shapes[i] = s
	}
	return shapes, nil
}

var (
	ints   = AttributeProto_INTS
	int1   = AttributeProto_INT
	str    = AttributeProto_STRING
	float1 = AttributeProto_FLOAT
)

var opAttrs = map[string]map[string]AttributeProto_AttributeType{
	"Conv":              {"kernel_shape": ints, "strides": ints, "pads": ints, "dilations": ints, "group": int1},
	"MaxPool":           {"kernel_shape": ints, "strides": ints, "pads": ints},
	"AveragePool":       {"kernel_shape": ints, "strides": ints, "pads": ints, "count_include_pad": int1},
	"Pad":               {"mode": str},
	"Flatten":           {"axis": int1},
	"Gemm":              {"transB": int1, "alpha": float1, "beta": float1},
	"Relu":              {},
	"PRelu":             {},
	"Add":               {},
	"Sub":               {},
	"Div":               {},
	"GlobalAveragePool": {},
	"Transpose":         {"perm": ints},
	"Reshape":           {},
	"ConstantOfShape":   {},
	"Concat":            {"axis": int1},
}

func (c *checker) node(n *NodeProto) error {
	if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
		return fmt.Errorf("domain %q not supported", n.GetDomain())
	}
	allowed, ok := opAttrs[n.GetOpType()]
	if !ok || !c.ops[n.GetOpType()] {
		return errors.New("operator not supported")
	}
	a, err := nodeAttrs(n, allowed)
	if err != nil {
		return err
	}
	if len(n.Output) != 1 {
		return fmt.Errorf("%d outputs, want 1", len(n.Output))
	}
	var out []int64
	switch n.GetOpType() {
	case "Conv":
		out, err = c.conv(n, a)
	case "MaxPool", "AveragePool":
		out, err = c.pool(n, a)
	case "Pad":
		out, err = c.pad(n, a)
	case "Add", "Sub", "Div":
		out, err = c.binary(n)
	case "PRelu":
		out, err = c.prelu(n)
	case "Relu":
		var in [][]int64
		if in, err = c.inputs(n, 1, 1); err == nil {
			out = in[0]
		}
	case "GlobalAveragePool":
		var in [][]int64
		if in, err = c.inputs(n, 1, 1); err == nil {
			if len(in[0]) != 4 {
				return fmt.Errorf("input has shape %v, want NCHW", in[0])
			}
			out = []int64{in[0][0], in[0][1], 1, 1}
		}
	case "Flatten":
		out, err = c.flatten(n, a)
	case "Gemm":
		out, err = c.gemm(n, a)
	case "Transpose":
		out, err = c.transpose(n, a)
	case "Reshape":
		out, err = c.reshape(n)
	case "ConstantOfShape":
		out, err = c.constantOfShape(n)
	case "Concat":
		out, err = c.concat(n, a)
	}
	if err != nil {
		return err
	}
	return c.define(n.Output[0], out)
}
