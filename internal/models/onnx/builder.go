package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"
)

// Graph builds a GraphProto node by node.
type Graph struct {
	g    *GraphProto
	seen map[string]bool
}

// NewGraph starts a graph named name.
func NewGraph(name string) *Graph {
	return &Graph{g: &GraphProto{Name: name}, seen: map[string]bool{}}
}

// Input declares a float input of the given shape.
func (b *Graph) Input(name string, shape ...int64) {
	b.g.Input = append(b.g.Input, floatValue(name, shape))
}

// Output declares a float output of the given shape.
func (b *Graph) Output(name string, shape ...int64) {
	b.g.Output = append(b.g.Output, floatValue(name, shape))
}

// Float adds a float32 initializer stored as raw little-endian bytes.
func (b *Graph) Float(name string, dims []int64, data []float32) error {
	if err := b.claim(name); err != nil {
		return err
	}
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	if n != int64(len(data)) {
		return fmt.Errorf("initializer %s: shape %v holds %d values, got %d", name, dims, n, len(data))
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &TensorProto{
		Name: name, Dims: dims, DataType: int32(TensorProto_FLOAT), RawData: raw,
	})
	return nil
}

// Int64s adds an int64 initializer (shapes, pads).
func (b *Graph) Int64s(name string, data []int64) error {
	if err := b.claim(name); err != nil {
		return err
	}
	b.g.Initializer = append(b.g.Initializer, &TensorProto{
		Name: name, Dims: []int64{int64(len(data))}, DataType: int32(TensorProto_INT64), Int64Data: data,
	})
	return nil
}

// Node appends an operator; its outputs must be new names.
func (b *Graph) Node(op, name string, inputs, outputs []string, attrs ...*AttributeProto) error {
	for _, o := range outputs {
		if err := b.claim(o); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
	}
	b.g.Node = append(b.g.Node, &NodeProto{OpType: op, Name: name, Input: inputs, Output: outputs, Attribute: attrs})
	return nil
}

func (b *Graph) claim(name string) error {
	if b.seen[name] {
		return fmt.Errorf("value %q defined twice", name)
	}
	b.seen[name] = true
	return nil
}

// Model wraps the graph in a model at IR version 7 with the given default-
// domain opset, and serialises it deterministically.
func (b *Graph) Model(producer, version string, opset int64) ([]byte, error) {
	m := &ModelProto{
		IrVersion:       7,
		ProducerName:    producer,
		ProducerVersion: version,
		OpsetImport:     []*OperatorSetIdProto{{Version: opset}},
		Graph:           b.g,
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// Ints is an INTS attribute.
func Ints(name string, v ...int64) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_INTS, Ints: v}
}

// Int is an INT attribute.
func Int(name string, v int64) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_INT, I: v}
}

// FloatAttr is a FLOAT attribute.
func FloatAttr(name string, v float32) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_FLOAT, F: v}
}

// String is a STRING attribute.
func String(name, v string) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_STRING, S: []byte(v)}
}

func floatValue(name string, shape []int64) *ValueInfoProto {
	dims := make([]*TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		dims[i] = &TensorShapeProto_Dimension{Value: &TensorShapeProto_Dimension_DimValue{DimValue: d}}
	}
	return &ValueInfoProto{Name: name, Type: &TypeProto{Value: &TypeProto_TensorType{TensorType: &TypeProto_Tensor{
		ElemType: int32(TensorProto_FLOAT), Shape: &TensorShapeProto{Dim: dims},
	}}}}
}

// Parse decodes a serialised model and checks it has a graph with inputs
// and outputs, so a truncated or foreign file is refused before any runtime
// parses it.
func Parse(data []byte) (*ModelProto, error) {
	var m ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse onnx model: %w", err)
	}
	if m.Graph == nil || len(m.Graph.Node) == 0 || len(m.Graph.Input) == 0 || len(m.Graph.Output) == 0 {
		return nil, fmt.Errorf("parse onnx model: no graph with nodes, inputs and outputs")
	}
	if m.IrVersion < 3 || len(m.OpsetImport) == 0 {
		return nil, fmt.Errorf("parse onnx model: ir_version %d, %d opset imports: not a usable model", m.IrVersion, len(m.OpsetImport))
	}
	return &m, nil
}
