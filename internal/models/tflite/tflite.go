package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// TensorType is the schema's TensorType enum.
type TensorType int8

// The tensor types laned reads.
const (
	Float32 TensorType = 0
	Float16 TensorType = 1
	Int32   TensorType = 2
	Uint8   TensorType = 3
	Int64   TensorType = 4
	Int8    TensorType = 9
)

func (t TensorType) String() string {
	switch t {
	case Float32:
		return "FLOAT32"
	case Float16:
		return "FLOAT16"
	case Int32:
		return "INT32"
	case Uint8:
		return "UINT8"
	case Int64:
		return "INT64"
	case Int8:
		return "INT8"
	}
	return fmt.Sprintf("TensorType(%d)", int8(t))
}

// Size is the bytes per element, 0 for a type laned does not read.
func (t TensorType) Size() int {
	switch t {
	case Float32, Int32:
		return 4
	case Float16:
		return 2
	case Uint8, Int8:
		return 1
	case Int64:
		return 8
	}
	return 0
}

// Builtin is the schema's BuiltinOperator enum.
type Builtin int32

// The builtin operators laned's converter and reference know.
const (
	Add             Builtin = 0
	AveragePool2D   Builtin = 1
	Concatenation   Builtin = 2
	Conv2D          Builtin = 3
	DepthwiseConv2D Builtin = 4
	Dequantize      Builtin = 6
	FullyConnected  Builtin = 9
	L2Normalization Builtin = 11
	MaxPool2D       Builtin = 17
	Mul             Builtin = 18
	Relu            Builtin = 19
	Relu6           Builtin = 21
	Reshape         Builtin = 22
	Pad             Builtin = 34
	Mean            Builtin = 40
	Sub             Builtin = 41
	Squeeze         Builtin = 43
	PRelu           Builtin = 54
	Abs             Builtin = 101
	Custom          Builtin = 32
)

var builtinNames = map[Builtin]string{
	Add: "ADD", AveragePool2D: "AVERAGE_POOL_2D", Concatenation: "CONCATENATION", Conv2D: "CONV_2D",
	DepthwiseConv2D: "DEPTHWISE_CONV_2D", Dequantize: "DEQUANTIZE", FullyConnected: "FULLY_CONNECTED",
	L2Normalization: "L2_NORMALIZATION", MaxPool2D: "MAX_POOL_2D", Mul: "MUL", Relu: "RELU", Relu6: "RELU6",
	Reshape: "RESHAPE", Pad: "PAD", Mean: "MEAN", Sub: "SUB", Squeeze: "SQUEEZE", PRelu: "PRELU", Abs: "ABS", Custom: "CUSTOM",
}

func (b Builtin) String() string {
	if s, ok := builtinNames[b]; ok {
		return s
	}
	return fmt.Sprintf("BUILTIN_%d", int32(b))
}

// Padding is the schema's Padding enum.
type Padding int8

// Paddings.
const (
	Same  Padding = 0
	Valid Padding = 1
)

// Activation is the schema's ActivationFunctionType enum.
type Activation int8

// Fused activations.
const (
	ActNone  Activation = 0
	ActRelu  Activation = 1
	ActRelu6 Activation = 3
)

// Quantization holds a tensor's affine quantisation (f = scale·(q − zero)),
// per tensor (one scale) or per channel along Dim.
type Quantization struct {
	Scale     []float32
	ZeroPoint []int64
	Dim       int32
}

// Tensor is one tensor of the main subgraph. Data is its constant buffer
// (nil for activations), aliasing the file's bytes.
type Tensor struct {
	Name  string
	Shape []int32
	Type  TensorType
	Data  []byte
	Quant *Quantization
}

// Elems is the number of values Shape holds.
func (t *Tensor) Elems() int {
	n := 1
	for _, d := range t.Shape {
		n *= int(d)
	}
	return n
}

// Floats returns a constant tensor's values as float32: FLOAT32 as stored,
// FLOAT16 widened, INT8/UINT8 dequantised with its scale and zero point.
func (t *Tensor) Floats() ([]float32, error) {
	n := t.Elems()
	if t.Data == nil {
		return nil, fmt.Errorf("tensor %q has no constant data", t.Name)
	}
	if sz := t.Type.Size(); sz == 0 || len(t.Data) != n*sz {
		return nil, fmt.Errorf("tensor %q: %d bytes of %s for shape %v", t.Name, len(t.Data), t.Type, t.Shape)
	}
	out := make([]float32, n)
	switch t.Type {
	case Float32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case Float16:
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	case Int8, Uint8:
		q := t.Quant
		if q == nil || len(q.Scale) == 0 || len(q.Scale) != len(q.ZeroPoint) {
			return nil, fmt.Errorf("tensor %q: %s without quantisation parameters", t.Name, t.Type)
		}
		// per channel along q.Dim: stride of that dimension
		inner, ch := 1, 1
		if len(q.Scale) > 1 {
			if q.Dim < 0 || int(q.Dim) >= len(t.Shape) || int(t.Shape[q.Dim]) != len(q.Scale) {
				return nil, fmt.Errorf("tensor %q: %d scales do not fit dimension %d of %v", t.Name, len(q.Scale), q.Dim, t.Shape)
			}
			ch = len(q.Scale)
			for _, d := range t.Shape[q.Dim+1:] {
				inner *= int(d)
			}
		}
		for i := range out {
			c := (i / inner) % ch
			v := int64(t.Data[i])
			if t.Type == Int8 {
				v = int64(int8(t.Data[i]))
			}
			out[i] = q.Scale[c] * float32(v-q.ZeroPoint[c])
		}
	default:
		return nil, fmt.Errorf("tensor %q: type %s is not a float or quantised type", t.Name, t.Type)
	}
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("tensor %q: value %d is not finite", t.Name, i)
		}
	}
	return out, nil
}

// Int32s returns a constant INT32 tensor's values.
func (t *Tensor) Int32s() ([]int32, error) {
	if t.Type != Int32 || t.Data == nil || len(t.Data) != 4*t.Elems() {
		return nil, fmt.Errorf("tensor %q is not a constant INT32 tensor of shape %v", t.Name, t.Shape)
	}
	out := make([]int32, t.Elems())
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		return float32(math.Copysign(float64(frac)/1024*math.Pow(2, -14), float64(int32(sign)>>31|1)))
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// Options are a builtin operator's options; fields not used by an operator
// stay zero. Strides and dilations default to 1 as the schema says.
type Options struct {
	Padding          Padding
	StrideW, StrideH int32
	DilationW        int32
	DilationH        int32
	DepthMultiplier  int32
	FilterW, FilterH int32
	Activation       Activation
	NewShape         []int32
	KeepNumDims      bool
}

// Operator is one node of the main subgraph, in execution order. Inputs
// and Outputs index Model.Tensors; -1 marks an absent optional input.
type Operator struct {
	Op      Builtin
	Custom  string
	Version int32
	Inputs  []int32
	Outputs []int32
	Options Options
}

// Model is the main subgraph of a TFLite file.
type Model struct {
	Version     uint32
	Description string
	Tensors     []Tensor
	Inputs      []int32
	Outputs     []int32
	Operators   []Operator
}

// maxElems bounds one tensor's shape, as onnx.Check does.
const maxElems = 1 << 28

// Parse reads a TFLite file; name is how errors refer to it.
func Parse(name string, data []byte) (*Model, error) {
	m, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("read tflite model %s: %w", name, err)
	}
	return m, nil
}

func parse(data []byte) (*Model, error) {
	if len(data) < 8 || string(data[4:8]) != "TFL3" {
		return nil, errors.New("not a TFLite file (no TFL3 identifier)")
	}
	r := reader{b: data}
	root, err := r.root()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m := &Model{}
	m.Version = root.u32(0, 0)
	if m.Version != 3 {
		return nil, fmt.Errorf("schema version %d, want 3", m.Version)
	}
	if m.Description, err = root.str(3); err != nil {
		return nil, fmt.Errorf("description: %w", err)
	}
	codes, err := root.tables(1)
	if err != nil {
		return nil, fmt.Errorf("operator_codes: %w", err)
	}
	type opcode struct {
		op      Builtin
		custom  string
		version int32
	}
	ops := make([]opcode, len(codes))
	for i, c := range codes {
		// builtin_code (field 3, int32) supersedes deprecated_builtin_code
		// (field 0, int8) from schema 2.4 on; the larger of the two is right.
		b := Builtin(c.i8(0, 0))
		if b2 := Builtin(c.i32(3, 0)); b2 > b {
			b = b2
		}
		ops[i].op, ops[i].version = b, c.i32(2, 1)
		if ops[i].custom, err = c.str(1); err != nil {
			return nil, fmt.Errorf("operator_codes[%d]: %w", i, err)
		}
	}
	bufs, err := root.tables(4)
	if err != nil {
		return nil, fmt.Errorf("buffers: %w", err)
	}
	subs, err := root.tables(2)
	if err != nil {
		return nil, fmt.Errorf("subgraphs: %w", err)
	}
	if len(subs) == 0 {
		return nil, errors.New("no subgraphs")
	}
	sg := subs[0]
	ts, err := sg.tables(0)
	if err != nil {
		return nil, fmt.Errorf("tensors: %w", err)
	}
	m.Tensors = make([]Tensor, len(ts))
	for i, t := range ts {
		if err := readTensor(&m.Tensors[i], t, bufs); err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
	}
	nt := int32(len(m.Tensors))
	checkIdx := func(what string, v []int32, optional bool) error {
		for _, k := range v {
			if k >= nt || k < 0 && !(optional && k == -1) {
				return fmt.Errorf("%s: tensor index %d out of range (%d tensors)", what, k, nt)
			}
		}
		return nil
	}
	if m.Inputs, err = sg.i32s(1); err == nil {
		err = checkIdx("inputs", m.Inputs, false)
	}
	if err != nil {
		return nil, fmt.Errorf("subgraph inputs: %w", err)
	}
	if m.Outputs, err = sg.i32s(2); err == nil {
		err = checkIdx("outputs", m.Outputs, false)
	}
	if err != nil {
		return nil, fmt.Errorf("subgraph outputs: %w", err)
	}
	opTables, err := sg.tables(3)
	if err != nil {
		return nil, fmt.Errorf("operators: %w", err)
	}
	m.Operators = make([]Operator, len(opTables))
	for i, t := range opTables {
		o := &m.Operators[i]
		idx := t.u32(0, 0)
		if int(idx) >= len(ops) {
			return nil, fmt.Errorf("operator %d: opcode_index %d out of range (%d codes)", i, idx, len(ops))
		}
		o.Op, o.Custom, o.Version = ops[idx].op, ops[idx].custom, ops[idx].version
		if o.Inputs, err = t.i32s(1); err == nil {
			err = checkIdx("inputs", o.Inputs, true)
		}
		if err == nil {
			if o.Outputs, err = t.i32s(2); err == nil {
				err = checkIdx("outputs", o.Outputs, false)
			}
		}
		if err == nil {
			err = readOptions(&o.Options, t)
		}
		if err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", i, o.Op, err)
		}
	}
	return m, nil
}

func readTensor(t *Tensor, tb table, bufs []table) error {
	var err error
	if t.Name, err = tb.str(3); err != nil {
		return err
	}
	if t.Shape, err = tb.i32s(0); err != nil {
		return fmt.Errorf("%q shape: %w", t.Name, err)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d <= 0 || int64(d) > maxElems || n*int64(d) > maxElems {
			return fmt.Errorf("%q: shape %v is empty or larger than %d values", t.Name, t.Shape, maxElems)
		}
		n *= int64(d)
	}
	t.Type = TensorType(tb.i8(1, 0))
	b := tb.u32(2, 0)
	if int(b) >= len(bufs) && b != 0 {
		return fmt.Errorf("%q: buffer %d out of range (%d buffers)", t.Name, b, len(bufs))
	}
	if b != 0 {
		if bufs[b].u64(1, 0) != 0 {
			return fmt.Errorf("%q: buffer %d is stored outside the flatbuffer, not supported", t.Name, b)
		}
		data, err := bufs[b].bytes(0)
		if err != nil {
			return fmt.Errorf("%q: buffer %d: %w", t.Name, b, err)
		}
		if len(data) > 0 {
			t.Data = data
		}
	}
	q, ok, err := tb.table(4)
	if err != nil {
		return fmt.Errorf("%q quantization: %w", t.Name, err)
	}
	if ok {
		scale, err1 := q.f32s(2)
		zero, err2 := q.i64s(3)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("%q quantization: %w", t.Name, err)
		}
		if len(scale) > 0 {
			t.Quant = &Quantization{Scale: scale, ZeroPoint: zero, Dim: q.i32(6, 0)}
		}
	}
	return nil
}

// The BuiltinOptions union members laned reads (schema order, from 1).
const (
	optConv2D          = 1
	optDepthwiseConv2D = 2
	optPool2D          = 5
	optFullyConnected  = 8
	optAdd             = 11
	optReshape         = 17
	optMul             = 21
	optSub             = 28
)

func readOptions(o *Options, op table) error {
	kind := op.u8(3, 0)
	t, ok, err := op.table(4)
	if err != nil || !ok {
		return err
	}
	switch kind {
	case optConv2D:
		o.Padding, o.StrideW, o.StrideH = Padding(t.i8(0, 0)), t.i32(1, 0), t.i32(2, 0)
		o.Activation, o.DilationW, o.DilationH = Activation(t.i8(3, 0)), t.i32(4, 1), t.i32(5, 1)
	case optDepthwiseConv2D:
		o.Padding, o.StrideW, o.StrideH = Padding(t.i8(0, 0)), t.i32(1, 0), t.i32(2, 0)
		o.DepthMultiplier, o.Activation = t.i32(3, 0), Activation(t.i8(4, 0))
		o.DilationW, o.DilationH = t.i32(5, 1), t.i32(6, 1)
	case optPool2D:
		o.Padding, o.StrideW, o.StrideH = Padding(t.i8(0, 0)), t.i32(1, 0), t.i32(2, 0)
		o.FilterW, o.FilterH, o.Activation = t.i32(3, 0), t.i32(4, 0), Activation(t.i8(5, 0))
	case optFullyConnected:
		o.Activation, o.KeepNumDims = Activation(t.i8(0, 0)), t.u8(2, 0) != 0
	case optAdd, optMul, optSub:
		o.Activation = Activation(t.i8(0, 0))
	case optReshape:
		if o.NewShape, err = t.i32s(0); err != nil {
			return fmt.Errorf("new_shape: %w", err)
		}
	}
	return nil
}
