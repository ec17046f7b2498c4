package onnx

import (
	"errors"
	"fmt"
	"slices"
)

// The operators DetectorOps adds that only move or make values: Transpose,
// Reshape, ConstantOfShape (zeros) and Concat.

// constInt64s returns the values of the int64 constant named name.
func (c *checker) constInt64s(name, what string) ([]int64, error) {
	t, ok := c.consts[name]
	if !ok || TensorProto_DataType(t.DataType) != TensorProto_INT64 || len(t.Dims) != 1 {
		return nil, fmt.Errorf("%s must be a 1-D int64 constant", what)
	}
	return Int64s(t), nil
}

func (c *checker) transpose(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	perm := make([]int64, len(x))
	for i := range perm {
		perm[i] = int64(len(x) - 1 - i)
	}
	if at, ok := a["perm"]; ok {
		perm = at.GetInts()
	}
	if len(perm) != len(x) {
		return nil, fmt.Errorf("perm %v for a rank-%d input", perm, len(x))
	}
	seen := make([]bool, len(x))
	out := make([]int64, len(x))
	for i, p := range perm {
		if p < 0 || p >= int64(len(x)) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
		out[i] = x[p]
	}
	return out, nil
}

// reshape allows a constant shape with 0 (keep that dimension) and at most
// one -1 (whatever is left).
func (c *checker) reshape(n *NodeProto) ([]int64, error) {
	in, err := c.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	x := in[0]
	shape, err := c.constInt64s(n.Input[1], "shape")
	if err != nil {
		return nil, err
	}
	total, _ := elems(x)
	out := make([]int64, len(shape))
	infer, known := -1, int64(1)
	for i, d := range shape {
		switch {
		case d == 0 && i < len(x):
			out[i] = x[i]
		case d == -1 && infer < 0:
			infer = i
			continue
		case d > 0 && d <= maxElems:
			out[i] = d
		default:
			return nil, fmt.Errorf("shape %v not supported", shape)
		}
		if known > maxElems/out[i] {
			return nil, fmt.Errorf("shape %v too large", shape)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if total%known != 0 {
			return nil, fmt.Errorf("shape %v does not fit %v", shape, x)
		}
		out[infer] = total / known
	}
	if got, err := elems(out); err != nil || got != total {
		return nil, fmt.Errorf("shape %v does not fit %v", shape, x)
	}
	return out, nil
}

// constantOfShape allows only the default value, float zeros.
func (c *checker) constantOfShape(n *NodeProto) ([]int64, error) {
	if _, err := c.inputs(n, 1, 1); err != nil {
		return nil, err
	}
	shape, err := c.constInt64s(n.Input[0], "shape")
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 {
		return nil, errors.New("scalar output not supported")
	}
	return slices.Clone(shape), nil // define() bounds it
}

func (c *checker) concat(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 1, 64)
	if err != nil {
		return nil, err
	}
	if _, ok := a["axis"]; !ok {
		return nil, errors.New("axis missing")
	}
	r := int64(len(in[0]))
	axis := a.int("axis", 0)
	if axis < -r || axis >= r {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	out := slices.Clone(in[0])
	for _, s := range in[1:] {
		if int64(len(s)) != r {
			return nil, fmt.Errorf("inputs of rank %d and %d", r, len(s))
		}
		for i := range s {
			if int64(i) != axis && s[i] != out[i] {
				return nil, fmt.Errorf("input shapes %v and %v differ off axis %d", in[0], s, axis)
			}
		}
		if out[axis] > maxElems-s[axis] {
			return nil, errors.New("concatenation too large")
		}
		out[axis] += s[axis]
	}
	return out, nil
}
