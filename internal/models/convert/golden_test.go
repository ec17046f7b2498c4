package convert

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/models"
)

// sourceWeights returns the cached TF.js files, skipping when set-up has
// not fetched them.
func sourceWeights(t testing.TB) (manifest, bin []byte) {
	t.Helper()
	dir, err := models.Dir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := models.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files [2][]byte
	for i, dest := range []string{"face-api/face_recognition_model-weights_manifest.json", "face-api/face_recognition_model.bin"} {
		p, err := set.Path(dest)
		if errors.Is(err, models.ErrNotFetched) {
			t.Skipf("model files not fetched (run make setup): %v", err)
		}
		if err != nil {
			t.Fatal(err) // present but altered: a failure, not a skip
		}
		if files[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	return files[0], files[1]
}

// TestGoldenEmbeddings proves the conversion exact: the converted model,
// run by OpenCV's DNN module, reproduces the reference implementation's
// outputs within 1e-4 on every value.
func TestGoldenEmbeddings(t *testing.T) {
	manifest, bin := sourceWeights(t)
	model, err := FaceRecognition(manifest, bin)
	if err != nil {
		t.Fatal(err)
	}
	net, err := gocv.ReadNetFromONNXBytes(model)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()

	golden := filepath.Join("..", "..", "..", "testdata", "golden", "face-recognition")
	in := lanedtest.ReadF32(t, filepath.Join(golden, "input-rgb-150.f32"))
	want := lanedtest.ReadF32(t, filepath.Join(golden, "reference-embedding-128.f32"))
	const n, side = 4, InputSide
	if len(in) != n*side*side*3 || len(want) != n*Dim {
		t.Fatalf("golden files hold %d inputs and %d outputs, want %d and %d", len(in), len(want), n*side*side*3, n*Dim)
	}
	var maxErr float64
	for k := 0; k < n; k++ {
		// HWC → NCHW
		chw := make([]float32, 3*side*side)
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				for c := 0; c < 3; c++ {
					chw[(c*side+y)*side+x] = in[((k*side+y)*side+x)*3+c]
				}
			}
		}
		raw := make([]byte, 4*len(chw))
		for i, v := range chw {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		blob, err := gocv.NewMatWithSizesFromBytes([]int{1, 3, side, side}, gocv.MatTypeCV32F, raw)
		if err != nil {
			t.Fatal(err)
		}
		net.SetInput(blob, InputName)
		out := net.Forward(OutputName)
		got, err := out.DataPtrFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != Dim {
			t.Fatalf("crop %d: output has %d values, want %d", k, len(got), Dim)
		}
		for i, g := range got {
			maxErr = math.Max(maxErr, math.Abs(float64(g-want[k*Dim+i])))
		}
		out.Close()
		blob.Close()
	}
	t.Logf("max abs error over %d×%d values: %.3g", n, Dim, maxErr)
	if maxErr > 1e-4 {
		t.Fatalf("converted net differs from the reference by %.3g (tolerance 1e-4)", maxErr)
	}
}
