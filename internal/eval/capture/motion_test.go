package capture

import (
	"image"
	"path/filepath"
	"sort"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/pipeline"
)

// chipAniso is the ratio of horizontal to vertical gradient energy over
// the central face of an aligned chip: a candidate directional measure of
// horizontal motion blur.
func chipAniso(chip []byte) float64 {
	m, _ := gocv.NewMatFromBytes(150, 150, gocv.MatTypeCV8UC3, chip)
	defer m.Close()
	g := gocv.NewMat()
	defer g.Close()
	gocv.CvtColor(m, &g, gocv.ColorBGRToGray)
	roi := g.Region(image.Rect(30, 35, 120, 120))
	defer roi.Close()
	gx, gy := gocv.NewMat(), gocv.NewMat()
	defer gx.Close()
	defer gy.Close()
	gocv.Sobel(roi, &gx, gocv.MatTypeCV32F, 1, 0, 3, 1, 0, gocv.BorderReflect101)
	gocv.Sobel(roi, &gy, gocv.MatTypeCV32F, 0, 1, 3, 1, 0, gocv.BorderReflect101)
	gocv.Multiply(gx, gx, &gx)
	gocv.Multiply(gy, gy, &gy)
	ex, ey := gx.Mean().Val1, gy.Mean().Val1
	return ex / ey
}

// TestMotionRatioOrdersBlur measures chipAniso on johns probes rendered
// with the eyes 32 px apart and 0/5/9/15 px of horizontal motion blur (the
// figures in docs/recognition.md): its median falls with the blur, but the
// spread between faces is wider than the step from 5 to 9 px, so it is not
// yet a gate.
func TestMotionRatioOrdersBlur(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	paths, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "datasets", "johns", "*", "*.jpg"))
	if len(paths) == 0 {
		t.Skip("../shared/datasets/johns absent")
	}
	set, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Path(pipeline.RecogniserModel); err != nil {
		t.Skipf("models not fetched: %v", err)
	}
	p, err := pipeline.Open(set, pipeline.Options{SmallFaceView: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	prev := 1e9
	for _, blur := range []int{0, 5, 9, 15} {
		var rs []float64
		for _, path := range paths {
			src, _ := imageio.Load(path)
			an, _ := p.Analyze(src)
			if len(an.Candidates) == 0 {
				src.Close()
				continue
			}
			probe, err := Render(src, an.Candidates[0].Face, Variant{MotionBlur: blur, EyeDistance: 32}, seedOf(path))
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			pa, _ := p.Analyze(probe)
			probe.Close()
			for _, c := range pa.Candidates {
				if c.Quality.Usable() {
					rs = append(rs, chipAniso(c.Chip.Pix))
					break
				}
			}
		}
		sort.Float64s(rs)
		if len(rs) < 40 {
			t.Fatalf("blur %d: only %d usable probes", blur, len(rs))
		}
		t.Logf("blur %d: n %d ratio Ex/Ey min %.3f p10 %.3f median %.3f p90 %.3f max %.3f", blur, len(rs), rs[0], rs[len(rs)/10], rs[len(rs)/2], rs[len(rs)*9/10], rs[len(rs)-1])
		if med := rs[len(rs)/2]; med >= prev {
			t.Errorf("blur %d px: median ratio %.3f not below the lesser blur's %.3f", blur, med, prev)
		} else {
			prev = med
		}
	}
}
