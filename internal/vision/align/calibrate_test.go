package align

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/imageio"
)

var repoRoot = filepath.Join("..", "..", "..")

// modelDir is the model cache; tests that need it skip when it is absent.
func modelDir(t testing.TB) string { return lanedtest.ModelDir(t) }

func johns(t testing.TB) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(repoRoot, "..", "shared", "datasets", "johns", "*", "*.jpg"))
	if len(paths) == 0 {
		t.Skip("../shared/datasets/johns absent")
	}
	return paths
}

// calibPads are how calibration shows a chip to the detector: centred on
// a mid-gray canvas (so its black corners form no edges) with these
// margins, which put the face at about 128, 85 and 50 px at the network
// input — the range faces have at run time (a 150 px face in a 1080p
// frame is 20 px in the full pass, 60–100 px in a tile). BlazeFace's
// keypoints shift by 1–3 px with that scale (measured: eyes at y 45.3 with
// a 30 px margin, 48.3 with 300), so the template averages the three.
var calibPads = []int{ChipSize / 2, ChipSize, 2 * ChipSize}

// detectOnChip finds the face in a 150×150 chip padded by pad pixels and
// returns it in chip coordinates.
func detectOnChip(d *detect.Detector, chip gocv.Mat, pad int) (vision.Face, bool, error) {
	fp := float32(pad)
	big := gocv.NewMat()
	defer big.Close()
	gocv.CopyMakeBorder(chip, &big, pad, pad, pad, pad, gocv.BorderConstant, color.RGBA{128, 128, 128, 0})
	faces, err := d.Detect(big)
	if err != nil || len(faces) == 0 {
		return vision.Face{}, false, err
	}
	f := faces[0]
	for i := range f.Landmarks {
		f.Landmarks[i].X -= fp
		f.Landmarks[i].Y -= fp
	}
	f.Box = vision.Box{X0: f.Box.X0 - fp, Y0: f.Box.Y0 - fp, X1: f.Box.X1 - fp, Y1: f.Box.Y1 - fp}
	return f, true, nil
}

// TestTemplateCalibration reproduces Template: it runs the detector on
// every johns chip (150×150 dlib chips) at three margins and averages the
// keypoints. It
// fails when the committed Template is more than 0.5 px from the
// measurement; LANED_PRINT_TEMPLATE=1 prints the Go literal to paste.
func TestTemplateCalibration(t *testing.T) {
	paths := johns(t)
	d, err := detect.Open(modelDir(t), detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var sum [4][2]float64
	var pts [][4]vision.Point
	for _, p := range paths {
		chip, err := imageio.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, pad := range calibPads {
			f, ok, err := detectOnChip(d, chip, pad)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("%s (margin %d): no face found", p, pad)
				continue
			}
			var k [4]vision.Point
			copy(k[:], f.Landmarks[:4])
			pts = append(pts, k)
			for i := 0; i < 4; i++ {
				sum[i][0] += float64(k[i].X)
				sum[i][1] += float64(k[i].Y)
			}
		}
		chip.Close()
	}
	n := float64(len(pts))
	var mean [4]vision.Point
	for i := range mean {
		mean[i] = vision.Point{X: float32(sum[i][0] / n), Y: float32(sum[i][1] / n)}
	}
	// spread: RMS distance of each chip's keypoints from the mean
	var sd [4]float64
	for _, k := range pts {
		for i := range k {
			sd[i] += math.Pow(float64(k[i].X-mean[i].X), 2) + math.Pow(float64(k[i].Y-mean[i].Y), 2)
		}
	}
	names := []string{"right eye", "left eye", "nose tip", "mouth"}
	var lit strings.Builder
	lit.WriteString("var Template = [4]vision.Point{\n")
	for i := range mean {
		t.Logf("%-9s at (%.2f, %.2f), RMS spread %.2f px over %d detections", names[i], mean[i].X, mean[i].Y, math.Sqrt(sd[i]/n), len(pts))
		fmt.Fprintf(&lit, "\t{X: %.2f, Y: %.2f}, // %s\n", mean[i].X, mean[i].Y, names[i])
	}
	lit.WriteString("}\n")
	if os.Getenv("LANED_PRINT_TEMPLATE") != "" {
		t.Logf("\n%s", lit.String())
	}
	for i := range mean {
		if math.Hypot(float64(mean[i].X-Template[i].X), float64(mean[i].Y-Template[i].Y)) > 0.5 {
			t.Errorf("Template[%d] (%s) = %v, measured %v: recalibrate", i, names[i], Template[i], mean[i])
		}
	}
	_ = image.Pt
}
