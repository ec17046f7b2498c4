package tflite

// A deliberately naive float64 interpreter of a TFLite graph, used only to
// make and check the golden vectors in testdata/golden/mobilefacenet. It
// shares nothing with the ONNX converter (internal/models/convert) but this
// package's flatbuffer reader: it runs the file's own operators one by one,
// in NHWC, with direct loops and TensorFlow's SAME padding, including TOCO's
// PReLU spelling (RELU, ABS, SUB, MUL, ADD) as the ops it is, not as a
// recognised pattern.

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/laned/laned/internal/lanedtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/mobilefacenet from the reference interpreter")

type nd struct {
	shape []int // NHWC (or any rank)
	v     []float64
}

func (m *Model) constant64(k int32) (nd, error) {
	t := &m.Tensors[k]
	f, err := t.Floats()
	if err != nil {
		return nd{}, err
	}
	out := nd{v: make([]float64, len(f))}
	for _, d := range t.Shape {
		out.shape = append(out.shape, int(d))
	}
	for i, x := range f {
		out.v[i] = float64(x)
	}
	return out, nil
}

// interpret runs the graph on one NHWC image (batch 1), already normalised.
func interpret(m *Model, img []float64) ([]float64, error) {
	vals := map[int32]nd{}
	in := m.Tensors[m.Inputs[0]].Shape
	vals[m.Inputs[0]] = nd{[]int{1, int(in[1]), int(in[2]), int(in[3])}, img}
	get := func(k int32) (nd, error) {
		if v, ok := vals[k]; ok {
			return v, nil
		}
		return m.constant64(k)
	}
	for i, op := range m.Operators {
		args := op.Inputs
		if op.Op == Reshape {
			args = args[:1] // the INT32 shape is in the output tensor too
		}
		ins := make([]nd, len(args))
		for j, k := range args {
			var err error
			if ins[j], err = get(k); err != nil {
				return nil, fmt.Errorf("op %d: %w", i, err)
			}
		}
		var out nd
		switch op.Op {
		case Conv2D, DepthwiseConv2D:
			out = conv64(op, ins[0], ins[1], ins[2])
		case Relu:
			out = mapND(ins[0], func(x float64) float64 { return math.Max(x, 0) })
		case Abs:
			out = mapND(ins[0], math.Abs)
		case Sub:
			out = broadcast(ins[0], ins[1], func(a, b float64) float64 { return a - b })
		case Mul:
			out = broadcast(ins[0], ins[1], func(a, b float64) float64 { return a * b })
		case Add:
			out = broadcast(ins[0], ins[1], func(a, b float64) float64 { return a + b })
		case Reshape:
			out = nd{[]int{1, len(ins[0].v)}, ins[0].v}
		default:
			return nil, fmt.Errorf("op %d: %s not in the reference interpreter", i, op.Op)
		}
		if op.Options.Activation != ActNone {
			return nil, fmt.Errorf("op %d: fused activation %d not in the reference interpreter", i, op.Options.Activation)
		}
		vals[op.Outputs[0]] = out
	}
	return vals[m.Outputs[0]].v, nil
}

func mapND(a nd, f func(float64) float64) nd {
	out := nd{a.shape, make([]float64, len(a.v))}
	for i, x := range a.v {
		out.v[i] = f(x)
	}
	return out
}

// broadcast applies f elementwise; a shorter operand repeats along the
// leading dimensions (NumPy rules for a trailing-shape constant).
func broadcast(a, b nd, f func(x, y float64) float64) nd {
	if len(a.v) < len(b.v) {
		g := f
		f = func(x, y float64) float64 { return g(y, x) }
		a, b = b, a
	}
	out := nd{a.shape, make([]float64, len(a.v))}
	for i, x := range a.v {
		out.v[i] = f(x, b.v[i%len(b.v)])
	}
	return out
}

func conv64(op Operator, x, w, b nd) nd {
	o := op.Options
	H, W, C := x.shape[1], x.shape[2], x.shape[3]
	kh, kw := w.shape[1], w.shape[2]
	sh, sw := int(o.StrideH), int(o.StrideW)
	var oh, ow, pt, pl int
	if o.Padding == Same {
		oh, ow = (H+sh-1)/sh, (W+sw-1)/sw
		pt = max((oh-1)*sh+kh-H, 0) / 2
		pl = max((ow-1)*sw+kw-W, 0) / 2
	} else {
		oh, ow = (H-kh)/sh+1, (W-kw)/sw+1
	}
	dw := op.Op == DepthwiseConv2D
	OC := w.shape[0]
	if dw {
		OC = w.shape[3]
	}
	out := nd{[]int{1, oh, ow, OC}, make([]float64, oh*ow*OC)}
	for y := 0; y < oh; y++ {
		for xx := 0; xx < ow; xx++ {
			for oc := 0; oc < OC; oc++ {
				s := b.v[oc]
				for i := 0; i < kh; i++ {
					iy := y*sh + i - pt
					if iy < 0 || iy >= H {
						continue
					}
					for j := 0; j < kw; j++ {
						ix := xx*sw + j - pl
						if ix < 0 || ix >= W {
							continue
						}
						px := x.v[(iy*W+ix)*C:]
						if dw {
							m := OC / C
							s += px[oc/m] * w.v[(i*kw+j)*OC+oc]
							continue
						}
						wr := w.v[((oc*kh+i)*kw+j)*C:]
						for c := 0; c < C; c++ {
							s += px[c] * wr[c]
						}
					}
				}
				out.v[(y*ow+xx)*OC+oc] = s
			}
		}
	}
	return out
}

const goldenDir = "../../../testdata/golden/mobilefacenet"

// goldenInputs makes the reference inputs, 112×112×3 RGB, whole numbers
// 0..255: the four face crops of testdata/golden/face-recognition (cut from
// @vladmandic/face-api's demo photos) area-resampled from 150 to 112 px,
// and one deterministic pseudo-random image (an LCG, seed 1).
func goldenInputs(t *testing.T) [][]float32 {
	src := lanedtest.ReadF32(t, filepath.Join("..", "..", "..", "testdata", "golden", "face-recognition", "input-rgb-150.f32"))
	const s, d = 150, 112
	var out [][]float32
	for k := 0; k < len(src)/(s*s*3); k++ {
		img := make([]float32, d*d*3)
		for y := range d {
			for x := range d {
				for c := range 3 {
					// box filter over the source pixels this one covers
					y0, y1 := float64(y)*s/d, float64(y+1)*s/d
					x0, x1 := float64(x)*s/d, float64(x+1)*s/d
					var sum, area float64
					for sy := int(y0); float64(sy) < y1; sy++ {
						hy := math.Min(y1, float64(sy+1)) - math.Max(y0, float64(sy))
						for sx := int(x0); float64(sx) < x1; sx++ {
							hx := math.Min(x1, float64(sx+1)) - math.Max(x0, float64(sx))
							sum += hx * hy * float64(src[((k*s+sy)*s+sx)*3+c])
							area += hx * hy
						}
					}
					img[(y*d+x)*3+c] = float32(math.Round(sum / area))
				}
			}
		}
		out = append(out, img)
	}
	img := make([]float32, d*d*3)
	state := uint32(1)
	for i := range img {
		state = state*1664525 + 1013904223
		img[i] = float32(state >> 24)
	}
	return append(out, img)
}

// TestReferenceVectors recomputes the golden vectors with the float64
// interpreter from the cached TFLite file and compares them with the
// stored ones (run with -update to rewrite them).
func TestReferenceVectors(t *testing.T) {
	if testing.Short() {
		t.Skip("the float64 reference interpreter takes several seconds")
	}
	m, err := Parse("MobileFaceNet.tflite", mobileFaceNet(t))
	if err != nil {
		t.Fatal(err)
	}
	inputs := goldenInputs(t)
	var flatIn, flatOut []float32
	for _, img := range inputs {
		norm := make([]float64, len(img))
		for i, v := range img {
			norm[i] = (float64(v) - 127.5) / 128
		}
		emb, err := interpret(m, norm)
		if err != nil {
			t.Fatal(err)
		}
		if len(emb) != 192 {
			t.Fatalf("reference output has %d values, want 192", len(emb))
		}
		flatIn = append(flatIn, img...)
		for _, v := range emb {
			flatOut = append(flatOut, float32(v))
		}
	}
	inPath, outPath := filepath.Join(goldenDir, "input-rgb-112.f32"), filepath.Join(goldenDir, "reference-embedding-192.f32")
	if *update {
		writeF32(t, inPath, flatIn)
		writeF32(t, outPath, flatOut)
	}
	wantIn, wantOut := lanedtest.ReadF32(t, inPath), lanedtest.ReadF32(t, outPath)
	if len(wantIn) != len(flatIn) || len(wantOut) != len(flatOut) {
		t.Fatalf("stored vectors hold %d/%d values, recomputed %d/%d", len(wantIn), len(wantOut), len(flatIn), len(flatOut))
	}
	var maxErr, maxAbs float64
	for i := range flatOut {
		maxErr = math.Max(maxErr, math.Abs(float64(flatOut[i]-wantOut[i])))
		maxAbs = math.Max(maxAbs, math.Abs(float64(flatOut[i])))
	}
	for i := range flatIn {
		if flatIn[i] != wantIn[i] {
			t.Fatalf("input value %d recomputed %v, stored %v", i, flatIn[i], wantIn[i])
		}
	}
	t.Logf("%d inputs; largest |output| %.3g; recomputed vs stored max error %.3g", len(inputs), maxAbs, maxErr)
	if maxErr > 1e-6 {
		t.Fatalf("reference interpreter no longer reproduces the stored vectors (max error %.3g)", maxErr)
	}
}

func writeF32(t *testing.T, path string, v []float32) {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
