package detect

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
)

// sharedDir is ../shared from the repo root; tests using it skip when absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(repoRoot, "..", "shared")
	if _, err := os.Stat(filepath.Join(d, "datasets")); err != nil {
		t.Skipf("../shared/datasets absent: %v", err)
	}
	return d
}

// canvasDetector pastes each image at the centre of a black canvas whose
// long side is canvas pixels (faces keep their pixel size, the frame
// grows: a driver seen small in a wide frame), detects, and maps boxes
// back to the image.
type canvasDetector struct {
	d      *Detector
	canvas int
}

func (c canvasDetector) DetectFile(path string) ([]vision.Box, error) {
	img, err := imageio.Load(path)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	w, h := img.Cols(), img.Rows()
	cw := max(c.canvas, w)
	ch := max(c.canvas*3/4, h)
	ox, oy := (cw-w)/2, (ch-h)/2
	big := gocv.NewMat()
	defer big.Close()
	gocv.CopyMakeBorder(img, &big, oy, ch-h-oy, ox, cw-w-ox, gocv.BorderConstant, color.RGBA{})
	faces, err := c.d.Detect(big)
	if err != nil {
		return nil, err
	}
	var out []vision.Box
	for _, f := range faces {
		b := f.Box
		out = append(out, vision.Box{X0: b.X0 - float32(ox), Y0: b.Y0 - float32(oy), X1: b.X1 - float32(ox), Y1: b.Y1 - float32(oy)})
	}
	return out, nil
}

// TestSmallFacesInLargeFrames measures recall on pascal-faces (faces 37–110
// px) as the frame around them grows from 640 to 1920 px: full-frame pass
// only, and tiling at three score thresholds. training.xml is the tuning
// set (it chose DefaultMinScore), testing.xml the check. It asserts that
// the defaults keep recall ≥ 0.85 with ≤ 0.5 false positives per image at
// every frame size; the log is the measurement behind the defaults.
func TestSmallFacesInLargeFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the detector ~500 times")
	}
	shared := sharedDir(t)
	configs := []struct {
		name string
		opts Options
		gate bool
	}{
		{"full-frame only", Options{MinFace: -1}, false},
		{"tiles score 0.5", Options{MinScore: 0.5}, false},
		{"default", Options{}, true},
		{"tiles score 0.7", Options{MinScore: 0.7}, false},
	}
	for _, f := range []string{"training.xml", "testing.xml"} {
		ds, err := eval.LoadImglab(filepath.Join(shared, "datasets", "pascal-faces", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, canvas := range []int{640, 960, 1280, 1920} {
			for _, cf := range configs {
				d := openDetector(t, cf.opts)
				res, err := eval.EvaluateDetection(ds, canvasDetector{d, canvas}, 0.4)
				if err != nil {
					t.Fatal(err)
				}
				tiles := len(d.tiles(canvas, canvas*3/4))
				msg := fmt.Sprintf("%-12s frame %4dx%-4d %-16s tiles %2d: recall %.3f precision %.3f fp/img %.2f ms/img %.0f",
					f, canvas, canvas*3/4, cf.name, tiles, res.Recall, res.Precision, res.FalsePositivesPerImage, res.MsPerImage)
				t.Log(msg)
				if cf.gate && (res.Recall < 0.85 || res.FalsePositivesPerImage > 0.5) {
					t.Errorf("below acceptance: %s", msg)
				}
				d.Close()
			}
		}
	}
}

// TestMinModelFace measures the full-frame pass's recall by face size in
// network input pixels (face side × 256 / frame long side), over
// pascal-faces pasted into frames of growing size. It backs minModelFace:
// the size from which recall is ≥ 0.9 in every bucket above it.
func TestMinModelFace(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	shared := sharedDir(t)
	d := openDetector(t, Options{MinFace: -1})
	edges := []float32{6, 8, 10, 12, 14, 16, 18, 20, 24, 32, 1e9}
	found := make([]int, len(edges))
	total := make([]int, len(edges))
	for _, f := range []string{"training.xml", "testing.xml"} {
		ds, err := eval.LoadImglab(filepath.Join(shared, "datasets", "pascal-faces", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, canvas := range []int{500, 640, 800, 960, 1280, 1600, 1920} {
			cd := canvasDetector{d, canvas}
			for _, im := range ds.Images {
				boxes, err := cd.DetectFile(im.Path)
				if err != nil {
					t.Fatal(err)
				}
				long := max(canvas, im.Width)
				for _, tb := range im.Boxes {
					side := max(tb.Box.W(), tb.Box.H()) * 256 / float32(long)
					bi := 0
					for bi < len(edges)-1 && side >= edges[bi+1] {
						bi++
					}
					if side < edges[0] {
						continue
					}
					total[bi]++
					for _, b := range boxes {
						if tb.Box.IoU(b) >= 0.4 {
							found[bi]++
							break
						}
					}
				}
			}
		}
	}
	for i := 0; i < len(edges)-1; i++ {
		if total[i] > 0 {
			t.Logf("face %4.0f–%-4.0f px at network input: recall %.2f (%d/%d)", edges[i], edges[i+1], float64(found[i])/float64(total[i]), found[i], total[i])
		}
	}
}
