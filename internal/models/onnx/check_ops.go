package onnx

import (
	"errors"
	"fmt"
	"slices"
)

// The shape rules of the operators Check accepts, one method per kind.

// window checks a 2-D sliding window (kernel, strides, pads, dilations) over
// an NCHW input and returns the output's H and W.
func window(in, kernel, strides, pads, dil []int64) ([]int64, error) {
	hw := make([]int64, 2)
	for i := range 2 {
		if pads[i] >= kernel[i] || pads[i+2] >= kernel[i] {
			return nil, fmt.Errorf("pads %v not smaller than kernel %v", pads, kernel)
		}
		span := dil[i]*(kernel[i]-1) + 1
		size := in[2+i] + pads[i] + pads[i+2] - span
		if size < 0 {
			return nil, fmt.Errorf("kernel %v (dilations %v) larger than padded input %v", kernel, dil, in)
		}
		hw[i] = size/strides[i] + 1
	}
	return hw, nil
}

func (c *checker) conv(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 2, 3)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if _, isConst := c.consts[n.Input[1]]; !isConst || len(x) != 4 || len(w) != 4 {
		return nil, fmt.Errorf("want NCHW input and constant OIHW weights, got %v and %v", x, w)
	}
	group := a.int("group", 1)
	if group != 1 && !c.ops["GroupConv"] {
		return nil, errors.New("only group 1 is supported")
	}
	if group < 1 || x[1]%group != 0 || w[0]%group != 0 {
		return nil, fmt.Errorf("group %d does not divide %d input and %d output channels", group, x[1], w[0])
	}
	if w[1]*group != x[1] {
		return nil, fmt.Errorf("weights take %d channels, input has %d (group %d)", w[1], x[1], group)
	}
	if len(in) == 3 {
		if _, isConst := c.consts[n.Input[2]]; !isConst || !slices.Equal(in[2], []int64{w[0]}) {
			return nil, fmt.Errorf("bias must be a constant of shape [%d], got %v", w[0], in[2])
		}
	}
	kernel, err := a.ints("kernel_shape", 2, 1, w[2], w[3])
	if err != nil {
		return nil, err
	}
	if !slices.Equal(kernel, w[2:]) {
		return nil, fmt.Errorf("kernel_shape %v differs from weights %v", kernel, w)
	}
	strides, err1 := a.ints("strides", 2, 1, 1, 1)
	pads, err2 := a.ints("pads", 4, 0, 0, 0, 0, 0)
	dil, err3 := a.ints("dilations", 2, 1, 1, 1)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	hw, err := window(x, kernel, strides, pads, dil)
	if err != nil {
		return nil, err
	}
	return []int64{x[0], w[0], hw[0], hw[1]}, nil
}

func (c *checker) pool(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if len(x) != 4 {
		return nil, fmt.Errorf("input has shape %v, want NCHW", x)
	}
	if _, ok := a["kernel_shape"]; !ok {
		return nil, errors.New("kernel_shape missing")
	}
	kernel, err1 := a.ints("kernel_shape", 2, 1)
	strides, err2 := a.ints("strides", 2, 1, 1, 1)
	pads, err3 := a.ints("pads", 4, 0, 0, 0, 0, 0)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if cip := a.int("count_include_pad", 0); cip != 0 && cip != 1 {
		return nil, fmt.Errorf("count_include_pad %d", cip)
	}
	hw, err := window(x, kernel, strides, pads, []int64{1, 1})
	if err != nil {
		return nil, err
	}
	return []int64{x[0], x[1], hw[0], hw[1]}, nil
}

// pad allows constant zero padding with non-negative pads given as an int64
// initializer (opset 11 form).
func (c *checker) pad(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	if m, ok := a["mode"]; ok && string(m.GetS()) != "constant" {
		return nil, fmt.Errorf("mode %q not supported", m.GetS())
	}
	x := in[0]
	p, isConst := c.consts[n.Input[1]]
	if !isConst || TensorProto_DataType(p.DataType) != TensorProto_INT64 || len(Int64s(p)) != 2*len(x) {
		return nil, fmt.Errorf("pads must be a constant int64 of %d values", 2*len(x))
	}
	pads := Int64s(p)
	out := slices.Clone(x)
	for i := range x {
		lo, hi := pads[i], pads[i+len(x)]
		if lo < 0 || hi < 0 || lo > maxElems || hi > maxElems {
			return nil, fmt.Errorf("pads %v: only non-negative padding is supported", pads)
		}
		out[i] += lo + hi
	}
	return out, nil
}

// binary allows equal shapes, or a constant operand that broadcasts to the
// other.
func (c *checker) binary(n *NodeProto) ([]int64, error) {
	in, err := c.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if slices.Equal(a, b) {
		return a, nil
	}
	_, bConst := c.consts[n.Input[1]]
	if !bConst || len(b) > len(a) {
		return nil, fmt.Errorf("shapes %v and %v differ and the second is not a constant that broadcasts", a, b)
	}
	for i := range b {
		if d := b[len(b)-1-i]; d != 1 && d != a[len(a)-1-i] {
			return nil, fmt.Errorf("shape %v does not broadcast to %v", b, a)
		}
	}
	return a, nil
}

func (c *checker) flatten(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 1, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	axis := a.int("axis", 1)
	if axis < 0 || axis > int64(len(x)) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, x)
	}
	lo, _ := elems(x[:axis])
	hi, _ := elems(x[axis:])
	return []int64{lo, hi}, nil
}

// gemm allows Y = A·Bᵀ + C with a constant B ([N,K], transB=1) or
// A·B + C ([K,N]), alpha and beta 1 and C absent or a constant [N].
func (c *checker) gemm(n *NodeProto, a attrs) ([]int64, error) {
	in, err := c.inputs(n, 2, 3)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if _, isConst := c.consts[n.Input[1]]; !isConst || len(x) != 2 || len(w) != 2 {
		return nil, fmt.Errorf("want a 2-D input and constant 2-D B, got %v and %v", x, w)
	}
	for _, name := range []string{"alpha", "beta"} {
		if at, ok := a[name]; ok && at.GetF() != 1 {
			return nil, fmt.Errorf("%s %v: only 1 is supported", name, at.GetF())
		}
	}
	k, outN := w[0], w[1]
	switch a.int("transB", 0) {
	case 0:
	case 1:
		k, outN = w[1], w[0]
	default:
		return nil, errors.New("gemm transB must be 0 or 1")
	}
	if k != x[1] {
		return nil, fmt.Errorf("gemm B %v does not take input %v", w, x)
	}
	if len(in) == 3 {
		if _, isConst := c.consts[n.Input[2]]; !isConst || !slices.Equal(in[2], []int64{outN}) {
			return nil, fmt.Errorf("gemm C must be a constant of shape [%d], got %v", outN, in[2])
		}
	}
	return []int64{x[0], outN}, nil
}

// prelu allows PRelu(x, slope) with a constant per-channel slope [C,1,1]
// (or [C] on a 2-D input): the form OpenCV's ChannelsPReLU and oneDNN's
// per-channel PReLU both run.
func (c *checker) prelu(n *NodeProto) ([]int64, error) {
	in, err := c.inputs(n, 2, 2)
	if err != nil {
		return nil, err
	}
	x, s := in[0], in[1]
	if _, isConst := c.consts[n.Input[1]]; !isConst || len(x) < 2 {
		return nil, fmt.Errorf("slope must be a constant and the input at least 2-D, got %v and %v", x, s)
	}
	want := make([]int64, len(x)-1)
	for i := range want {
		want[i] = 1
	}
	want[0] = x[1]
	if !slices.Equal(s, want) {
		return nil, fmt.Errorf("slope has shape %v, want one value per channel %v", s, want)
	}
	return x, nil
}
