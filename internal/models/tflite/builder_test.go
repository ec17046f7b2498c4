package tflite

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
)

// tinyTFLite writes a one-CONV_2D model with the flatbuffers builder,
// using the schema's field numbers, independently of the reader.
func tinyTFLite() []byte {
	b := flatbuffers.NewBuilder(256)
	ints := func(v ...int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	tables := func(v ...flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependUOffsetT(v[i])
		}
		return b.EndVector(len(v))
	}
	w := make([]byte, 4)
	binary.LittleEndian.PutUint32(w, math.Float32bits(2.5))
	data := b.CreateByteVector(w)
	b.StartObject(1) // Buffer
	b.PrependUOffsetTSlot(0, data, 0)
	buf1 := b.EndObject()
	b.StartObject(1)
	buf0 := b.EndObject()
	tensor := func(name string, buffer uint32, shape ...int32) flatbuffers.UOffsetT {
		n := b.CreateString(name)
		s := ints(shape...)
		b.StartObject(5) // Tensor: shape, type, buffer, name, quantization
		b.PrependUOffsetTSlot(0, s, 0)
		b.PrependInt8Slot(1, 0, 0)
		b.PrependUint32Slot(2, buffer, 0)
		b.PrependUOffsetTSlot(3, n, 0)
		return b.EndObject()
	}
	t0, t1, t2 := tensor("in", 0, 1, 2, 2, 1), tensor("w", 1, 1, 1, 1, 1), tensor("out", 0, 1, 2, 2, 1)
	b.StartObject(6) // Conv2DOptions
	b.PrependInt8Slot(0, int8(Valid), 0)
	b.PrependInt32Slot(1, 1, 0)
	b.PrependInt32Slot(2, 1, 0)
	b.PrependInt8Slot(3, int8(ActRelu), 0)
	opts := b.EndObject()
	in, out := ints(0, 1), ints(2)
	b.StartObject(5) // Operator: opcode_index, inputs, outputs, options type, options
	b.PrependUint32Slot(0, 0, 0)
	b.PrependUOffsetTSlot(1, in, 0)
	b.PrependUOffsetTSlot(2, out, 0)
	b.PrependByteSlot(3, optConv2D, 0)
	b.PrependUOffsetTSlot(4, opts, 0)
	op := b.EndObject()
	tv, sin, sout, ops := tables(t0, t1, t2), ints(0), ints(2), tables(op)
	b.StartObject(4) // SubGraph
	b.PrependUOffsetTSlot(0, tv, 0)
	b.PrependUOffsetTSlot(1, sin, 0)
	b.PrependUOffsetTSlot(2, sout, 0)
	b.PrependUOffsetTSlot(3, ops, 0)
	sg := b.EndObject()
	b.StartObject(4) // OperatorCode: deprecated_builtin_code, custom_code, version, builtin_code
	b.PrependInt8Slot(0, int8(Conv2D), 0)
	b.PrependInt32Slot(2, 1, 1)
	b.PrependInt32Slot(3, int32(Conv2D), 0)
	code := b.EndObject()
	desc := b.CreateString("tiny")
	codes, sgs, bufs := tables(code), tables(sg), tables(buf0, buf1)
	b.StartObject(5) // Model
	b.PrependUint32Slot(0, 3, 0)
	b.PrependUOffsetTSlot(1, codes, 0)
	b.PrependUOffsetTSlot(2, sgs, 0)
	b.PrependUOffsetTSlot(3, desc, 0)
	b.PrependUOffsetTSlot(4, bufs, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte("TFL3"))
	return b.FinishedBytes()
}

func TestParseBuiltModel(t *testing.T) {
	m, err := Parse("tiny.tflite", tinyTFLite())
	if err != nil {
		t.Fatal(err)
	}
	if m.Description != "tiny" || len(m.Tensors) != 3 || len(m.Operators) != 1 {
		t.Fatalf("model %+v", m)
	}
	op := m.Operators[0]
	if op.Op != Conv2D || !slices.Equal(op.Inputs, []int32{0, 1}) || !slices.Equal(op.Outputs, []int32{2}) {
		t.Fatalf("operator %+v", op)
	}
	if o := op.Options; o.Padding != Valid || o.StrideW != 1 || o.StrideH != 1 || o.Activation != ActRelu || o.DilationW != 1 {
		t.Fatalf("options %+v (dilation must default to 1)", o)
	}
	w, err := m.Tensors[1].Floats()
	if err != nil || len(w) != 1 || w[0] != 2.5 || m.Tensors[1].Name != "w" || !slices.Equal(m.Tensors[0].Shape, []int32{1, 2, 2, 1}) {
		t.Fatalf("weights %v %v, tensors %+v", w, err, m.Tensors)
	}
	if m.Tensors[0].Data != nil {
		t.Fatal("an activation has data")
	}
}

// TestParseBuiltModelDamage: every truncation and every single-byte change
// of the small model is an error or a model, never a panic.
func TestParseBuiltModelDamage(t *testing.T) {
	good := tinyTFLite()
	for n := range len(good) {
		Parse("t", good[:n]) //nolint:errcheck // must not panic
	}
	for i := range good {
		for _, v := range []byte{0, 0xff, good[i] ^ 0x80} {
			b := slices.Clone(good)
			b[i] = v
			if m, err := Parse("t", b); err == nil {
				for k := range m.Tensors {
					m.Tensors[k].Floats() //nolint:errcheck
				}
			}
		}
	}
}
