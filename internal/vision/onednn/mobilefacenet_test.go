package onednn

import (
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/models"
)

// mobileFaceNetModel returns the verified converted MobileFaceNet, skipping
// when set-up has not produced it.
func mobileFaceNetModel(t testing.TB) string {
	t.Helper()
	set, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Path("mobilefacenet.onnx")
	if errors.Is(err, models.ErrNotFetched) {
		t.Skipf("mobilefacenet not available (run laned models fetch): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const mfnSide, mfnDim = 112, 192

// mfnGolden returns the golden chips (NCHW, raw RGB) and reference outputs.
func mfnGolden(t testing.TB) (chips [][]float32, want []float32) {
	dir := filepath.Join("..", "..", "..", "testdata", "golden", "mobilefacenet")
	in := lanedtest.ReadF32(t, filepath.Join(dir, "input-rgb-112.f32"))
	want = lanedtest.ReadF32(t, filepath.Join(dir, "reference-embedding-192.f32"))
	n := len(want) / mfnDim
	if n == 0 || len(in) != n*mfnSide*mfnSide*3 {
		t.Fatalf("golden files hold %d input and %d output values: not whole chips", len(in), len(want))
	}
	for k := range n {
		chw := make([]float32, 3*mfnSide*mfnSide)
		for i := range mfnSide * mfnSide {
			for c := range 3 {
				chw[c*mfnSide*mfnSide+i] = in[(k*mfnSide*mfnSide+i)*3+c]
			}
		}
		chips = append(chips, chw)
	}
	return chips, want
}

// openCVForward runs the same model file on OpenCV's DNN module.
func openCVForward(t testing.TB, net *gocv.Net, chw []float32) []float32 {
	raw := make([]byte, 4*len(chw))
	for i, v := range chw {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	blob, err := gocv.NewMatWithSizesFromBytes([]int{1, 3, mfnSide, mfnSide}, gocv.MatTypeCV32F, raw)
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	net.SetInput(blob, "input")
	out := net.Forward("embedding")
	defer out.Close()
	got, err := out.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), got...)
}

// TestMobileFaceNetGolden: the converted ArcFace net on oneDNN reproduces
// the independent float64 TFLite interpreter within 1e-4 on every value,
// and agrees with OpenCV on the same file within 1e-4.
func TestMobileFaceNetGolden(t *testing.T) {
	path := mobileFaceNetModel(t)
	n := loadFile(t, path)
	if got := n.OutputShape(); len(got) != 2 || got[1] != mfnDim {
		t.Fatalf("output shape %v, want [1 %d]", got, mfnDim)
	}
	steps, err := n.Steps()
	if err != nil {
		t.Fatal(err)
	}
	// 52 convs (12 with the residual sum as a post-op), the normalisation's
	// Sub and Div, the Flatten, and the 33 PReLUs as post-ops (55) or, where
	// oneDNN has only its slow reference kernel for that, as steps (88).
	if steps != 55 && steps != 88 {
		t.Errorf("%d primitives per forward, want 55 or 88 (residual not fused?)", steps)
	}
	t.Logf("%d oneDNN primitives per forward", steps)
	ocv := gocv.ReadNetFromONNX(path)
	if ocv.Empty() {
		t.Fatal("opencv could not read the model")
	}
	defer ocv.Close()
	chips, want := mfnGolden(t)
	var maxRef, maxOCV float64
	for k, chw := range chips {
		got, err := n.Forward(chw)
		if err != nil {
			t.Fatal(err)
		}
		ref := openCVForward(t, &ocv, chw)
		for i, g := range got {
			maxRef = math.Max(maxRef, math.Abs(float64(g-want[k*mfnDim+i])))
			maxOCV = math.Max(maxOCV, math.Abs(float64(g-ref[i])))
		}
	}
	t.Logf("max abs error over %d×%d values: oneDNN vs reference %.3g, oneDNN vs OpenCV %.3g", len(chips), mfnDim, maxRef, maxOCV)
	if maxRef > 1e-4 || maxOCV > 1e-4 {
		t.Fatalf("oneDNN differs from the reference by %.3g and from OpenCV by %.3g (tolerance 1e-4)", maxRef, maxOCV)
	}
}

// BenchmarkMobileFaceNet is one 112×112 chip through the ArcFace net on
// each engine, in the same run, so their ratio is what to read.
func BenchmarkMobileFaceNet(b *testing.B) {
	path := mobileFaceNetModel(b)
	chips, _ := mfnGolden(b)
	b.Run("engine=onednn", func(b *testing.B) {
		n := loadFile(b, path)
		for b.Loop() {
			if _, err := n.Forward(chips[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine=opencv", func(b *testing.B) {
		ocv := gocv.ReadNetFromONNX(path)
		defer ocv.Close()
		for b.Loop() {
			openCVForward(b, &ocv, chips[0])
		}
	})
}
