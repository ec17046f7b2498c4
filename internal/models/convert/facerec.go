package convert

import (
	"fmt"

	"github.com/laned/laned/internal/models/onnx"
	"github.com/laned/laned/internal/models/tfjs"
)

// FaceRecognition input and output, as the converted graph names them.
const (
	InputName  = "input"
	OutputName = "embedding"
	InputSide  = 150
	Dim        = 128
)

// The face-api files FaceRecognition reads, as errors name them.
const (
	ManifestFile = "face_recognition_model-weights_manifest.json"
	WeightsFile  = "face_recognition_model.bin"
)

// MeanRGB is the per-channel mean the net subtracts before dividing by 255.
var MeanRGB = [3]float32{122.782, 117.001, 104.298}

// opset 11 is the newest OpenCV 4.6's importer handles for every operator
// used here (Pad takes its pads as an input from opset 11 on).
const opset = 11

// FaceRecognition converts face-api's face_recognition_model (weights
// manifest JSON and binary) to a serialised ONNX model.
func FaceRecognition(weightsManifest, weightsBin []byte) ([]byte, error) {
	w, err := tfjs.Parse(ManifestFile, weightsManifest, WeightsFile, weightsBin)
	if err != nil {
		return nil, fmt.Errorf("convert face recognition net: %w", err)
	}
	c := &converter{w: w, g: onnx.NewGraph("face_recognition")}
	if err := c.build(); err != nil {
		// The weights parsed but do not fit the net: say which file lists them.
		return nil, fmt.Errorf("convert face recognition net: %s: %w", ManifestFile, err)
	}
	return c.g.Model("laned", "face-api-1.7.15/face_recognition_model", opset)
}

type converter struct {
	w tfjs.Weights
	g *onnx.Graph
	// shape of the current activation, C×H×W
	c, h, wd int
}

// The residual stages in forward order; "down" stages halve the size.
var stages = []struct {
	name string
	down bool
}{
	{"conv32_1", false}, {"conv32_2", false}, {"conv32_3", false},
	{"conv64_down", true}, {"conv64_1", false}, {"conv64_2", false}, {"conv64_3", false},
	{"conv128_down", true}, {"conv128_1", false}, {"conv128_2", false},
	{"conv256_down", true}, {"conv256_1", false}, {"conv256_2", false},
	{"conv256_down_out", true},
}

func (c *converter) build() error {
	g := c.g
	g.Input(InputName, 1, 3, InputSide, InputSide)
	if err := g.Float("mean", []int64{1, 3, 1, 1}, MeanRGB[:]); err != nil {
		return err
	}
	if err := g.Float("div255", []int64{1}, []float32{255}); err != nil {
		return err
	}
	if err := g.Node("Sub", "sub_mean", []string{InputName, "mean"}, []string{"centred"}); err != nil {
		return err
	}
	if err := g.Node("Div", "div_255", []string{"centred", "div255"}, []string{"normalised"}); err != nil {
		return err
	}
	c.c, c.h, c.wd = 3, InputSide, InputSide
	x, err := c.conv("conv32_down", "normalised", 2, false, true)
	if err != nil {
		return err
	}
	// maxPool 3×3, stride 2, valid
	if err := g.Node("MaxPool", "pool", []string{x}, []string{"pool"},
		onnx.Ints("kernel_shape", 3, 3), onnx.Ints("strides", 2, 2), onnx.Ints("pads", 0, 0, 0, 0)); err != nil {
		return err
	}
	x = "pool"
	c.h, c.wd = (c.h-3)/2+1, (c.wd-3)/2+1
	for _, s := range stages {
		if s.down {
			x, err = c.residualDown(s.name, x)
		} else {
			x, err = c.residual(s.name, x)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	fc, err := c.w.Get("fc", 2)
	if err != nil {
		return err
	}
	if fc.Shape[0] != c.c || fc.Shape[1] != Dim {
		return fmt.Errorf("weight fc has shape %v, want [%d %d]", fc.Shape, c.c, Dim)
	}
	// OpenCV's importer wants Gemm's B transposed (transB=1) and a bias;
	// a zero bias adds exactly nothing.
	fcT := make([]float32, len(fc.Data))
	for i := 0; i < c.c; i++ {
		for o := 0; o < Dim; o++ {
			fcT[o*c.c+i] = fc.Data[i*Dim+o]
		}
	}
	if err := g.Float("fc", []int64{Dim, int64(c.c)}, fcT); err != nil {
		return err
	}
	if err := g.Float("fc_bias", []int64{Dim}, make([]float32, Dim)); err != nil {
		return err
	}
	if err := g.Node("GlobalAveragePool", "gap", []string{x}, []string{"gap"}); err != nil {
		return err
	}
	if err := g.Node("Flatten", "flatten", []string{"gap"}, []string{"flat"}, onnx.Int("axis", 1)); err != nil {
		return err
	}
	if err := g.Node("Gemm", "fc", []string{"flat", "fc", "fc_bias"}, []string{OutputName}, onnx.Int("transB", 1)); err != nil {
		return err
	}
	g.Output(OutputName, 1, Dim)
	return nil
}

// conv emits Conv(+folded bias and scale)(+Relu) for the conv layer at
// prefix: 3×3 or 7×7 filters, "same" padding at stride 1, "valid" at 2.
func (c *converter) conv(prefix, in string, stride int, same, relu bool) (string, error) {
	f, err := c.w.Get(prefix+"/conv/filters", 4)
	if err != nil {
		return "", err
	}
	kh, kw, cin, cout := f.Shape[0], f.Shape[1], f.Shape[2], f.Shape[3]
	if cin != c.c {
		return "", fmt.Errorf("%s: filters take %d channels, activation has %d", prefix, cin, c.c)
	}
	vecs := map[string][]float32{}
	for _, n := range []string{"/conv/bias", "/scale/weights", "/scale/biases"} {
		t, err := c.w.Get(prefix+n, 1)
		if err != nil {
			return "", err
		}
		if t.Shape[0] != cout {
			return "", fmt.Errorf("weight %s%s has %d values, want %d", prefix, n, t.Shape[0], cout)
		}
		vecs[n] = t.Data
	}
	bias, sw, sb := vecs["/conv/bias"], vecs["/scale/weights"], vecs["/scale/biases"]
	// (conv(x, W) + b)·s + t  =  conv(x, W·s) + (b·s + t), per output channel.
	// TF.js filters are HWIO; ONNX wants OIHW.
	wOIHW := make([]float32, len(f.Data))
	for y := 0; y < kh; y++ {
		for x := 0; x < kw; x++ {
			for i := 0; i < cin; i++ {
				for o := 0; o < cout; o++ {
					wOIHW[((o*cin+i)*kh+y)*kw+x] = f.Data[((y*kw+x)*cin+i)*cout+o] * sw[o]
				}
			}
		}
	}
	b := make([]float32, cout)
	for o := range b {
		b[o] = bias[o]*sw[o] + sb[o]
	}
	wName, bName, out := prefix+"/W", prefix+"/B", prefix+"/conv"
	if err := c.g.Float(wName, []int64{int64(cout), int64(cin), int64(kh), int64(kw)}, wOIHW); err != nil {
		return "", err
	}
	if err := c.g.Float(bName, []int64{int64(cout)}, b); err != nil {
		return "", err
	}
	pad := int64(0)
	if same {
		if stride != 1 || kh != kw || kh%2 == 0 {
			return "", fmt.Errorf("%s: 'same' padding only for odd square kernels at stride 1", prefix)
		}
		pad = int64(kh / 2)
	}
	if err := c.g.Node("Conv", prefix, []string{in, wName, bName}, []string{out},
		onnx.Ints("kernel_shape", int64(kh), int64(kw)), onnx.Ints("strides", int64(stride), int64(stride)),
		onnx.Ints("pads", pad, pad, pad, pad), onnx.Ints("dilations", 1, 1), onnx.Int("group", 1)); err != nil {
		return "", err
	}
	c.c = cout
	c.h = (c.h+2*int(pad)-kh)/stride + 1
	c.wd = (c.wd+2*int(pad)-kw)/stride + 1
	if !relu {
		return out, nil
	}
	return out + "/relu", c.g.Node("Relu", prefix+"/relu", []string{out}, []string{out + "/relu"})
}

func (c *converter) residual(prefix, in string) (string, error) {
	cin := c.c
	x, err := c.conv(prefix+"/conv1", in, 1, true, true)
	if err != nil {
		return "", err
	}
	x, err = c.conv(prefix+"/conv2", x, 1, true, false)
	if err != nil {
		return "", err
	}
	if c.c != cin {
		return "", fmt.Errorf("plain residual changes channels %d → %d", cin, c.c)
	}
	return c.addRelu(prefix, x, in)
}

// residualDown: out = conv2(convDown(x)); shortcut = avgPool2×2(x) with
// its channels zero-padded to out's; where out is one row/column short of
// the shortcut, out gets a zero row at the bottom and column at the right.
func (c *converter) residualDown(prefix, in string) (string, error) {
	cin, hin, win := c.c, c.h, c.wd
	x, err := c.conv(prefix+"/conv1", in, 2, false, true)
	if err != nil {
		return "", err
	}
	x, err = c.conv(prefix+"/conv2", x, 1, true, false)
	if err != nil {
		return "", err
	}
	pooled := prefix + "/avgpool"
	if err := c.g.Node("AveragePool", pooled, []string{in}, []string{pooled},
		onnx.Ints("kernel_shape", 2, 2), onnx.Ints("strides", 2, 2), onnx.Ints("pads", 0, 0, 0, 0)); err != nil {
		return "", err
	}
	ph, pw := (hin-2)/2+1, (win-2)/2+1
	if c.h != ph || c.wd != pw {
		if c.h+1 != ph || c.wd+1 != pw {
			return "", fmt.Errorf("shortcut %dx%d and main path %dx%d differ by more than one", ph, pw, c.h, c.wd)
		}
		if x, err = c.pad(prefix+"/pad_hw", x, []int64{0, 0, 0, 0, 0, 0, 1, 1}); err != nil {
			return "", err
		}
		c.h, c.wd = ph, pw
	}
	if c.c != cin {
		if c.c < cin {
			return "", fmt.Errorf("down-sampling shrinks channels %d → %d", cin, c.c)
		}
		if pooled, err = c.pad(prefix+"/pad_c", pooled, []int64{0, 0, 0, 0, 0, int64(c.c - cin), 0, 0}); err != nil {
			return "", err
		}
	}
	return c.addRelu(prefix, x, pooled)
}

func (c *converter) pad(name, in string, pads []int64) (string, error) {
	if err := c.g.Int64s(name+"/pads", pads); err != nil {
		return "", err
	}
	return name, c.g.Node("Pad", name, []string{in, name + "/pads"}, []string{name}, onnx.String("mode", "constant"))
}

func (c *converter) addRelu(prefix, a, b string) (string, error) {
	if err := c.g.Node("Add", prefix+"/add", []string{a, b}, []string{prefix + "/add"}); err != nil {
		return "", err
	}
	out := prefix + "/out"
	return out, c.g.Node("Relu", out, []string{prefix + "/add"}, []string{out})
}
