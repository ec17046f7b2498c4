package pipeline

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/align"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/quality"
)

func openSet(t testing.TB) *models.Set {
	t.Helper()
	set, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Path(RecogniserModel); err != nil {
		t.Skipf("models not fetched (run make setup): %v", err)
	}
	return set
}

func open(t testing.TB, opts Options) (*Pipeline, *models.Set) {
	t.Helper()
	set := openSet(t)
	p, err := Open(set, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, set
}

func sample(t testing.TB, set *models.Set, n int) string {
	t.Helper()
	p, err := set.Path(fmt.Sprintf("face-api/demo/sample%d.jpg", n))
	if err != nil {
		t.Skip(err)
	}
	return p
}

func TestProcessSample(t *testing.T) {
	p, set := open(t, Options{})
	fr, err := p.ProcessFile(sample(t, set, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Faces) != 3 || len(fr.Usable()) != 3 {
		t.Fatalf("sample3: %d faces, %d usable; want 3 and 3", len(fr.Faces), len(fr.Usable()))
	}
	for i := 1; i < len(fr.Faces); i++ {
		if fr.Faces[i].Quality.EyeDistance > fr.Faces[i-1].Quality.EyeDistance {
			t.Fatal("faces not ordered by eye distance")
		}
	}
	for _, f := range fr.Usable() {
		if len(f.Embedding) != Dim {
			t.Fatalf("template has %d values", len(f.Embedding))
		}
	}
	if fr.Timings.Total <= 0 || fr.Timings.Detect <= 0 || fr.Timings.Embed <= 0 {
		t.Fatalf("timings not recorded: %+v", fr.Timings)
	}
}

// TestSamePersonMatchesAcrossCaptures: the three people of sample3 are
// found again in a mirrored, smaller capture, each nearest to themselves
// and within the default threshold.
func TestSamePersonMatchesAcrossCaptures(t *testing.T) {
	p, set := open(t, Options{})
	path := sample(t, set, 3)
	a, err := p.ProcessFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	flipped := gocv.NewMat()
	defer flipped.Close()
	gocv.Flip(img, &flipped, 1)
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(flipped, &small, image.Pt(img.Cols()*6/10, img.Rows()*6/10), 0, 0, gocv.InterpolationArea)
	b, err := p.Process(small)
	if err != nil {
		t.Fatal(err)
	}
	ua, ub := a.Usable(), b.Usable()
	if len(ua) != 3 || len(ub) != 3 {
		t.Fatalf("usable faces %d and %d, want 3 and 3", len(ua), len(ub))
	}
	for i, fa := range ua {
		// mirrored: the face at x maps to width-x in the 60% frame
		cx := float32(img.Cols()) - (fa.Box.X0+fa.Box.X1)/2
		best, bestD := -1, float32(9)
		for j, fb := range ub {
			if d := distance(fa.Embedding, fb.Embedding); d < bestD {
				best, bestD = j, d
			}
		}
		got := (ub[best].Box.X0 + ub[best].Box.X1) / 2 / 0.6
		if d := got - cx; d > 40 || d < -40 {
			t.Errorf("face %d nearest to a face at x=%.0f, want x≈%.0f", i, got, cx)
		}
		if bestD > DefaultThreshold {
			t.Errorf("face %d: distance %.3f to itself above the threshold %.2f", i, bestD, DefaultThreshold)
		}
	}
}

func distance(a, b []float32) float32 {
	var na, nb, dot float64
	for i := range a {
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
		dot += float64(a[i]) * float64(b[i])
	}
	s := dot / math.Sqrt(na*nb)
	return float32(math.Sqrt(max(0, 2-2*s)))
}

func TestEnrollFileRefusals(t *testing.T) {
	p, set := open(t, Options{})
	blank := filepath.Join(t.TempDir(), "wall.png")
	f, err := os.Create(blank)
	if err != nil {
		t.Fatal(err)
	}
	im := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := range im.Pix {
		im.Pix[i] = 200
	}
	im.Set(10, 10, color.Black)
	png.Encode(f, im)
	f.Close()
	tests := []struct {
		path string
		want error
	}{
		{blank, ErrNoFace},
		{sample(t, set, 3), ErrManyFaces},
	}
	for _, tc := range tests {
		_, err := p.EnrollFile(tc.path)
		if !errors.Is(err, tc.want) || !errors.Is(err, ErrNoUsableFace) || !strings.Contains(err.Error(), filepath.Base(tc.path)) {
			t.Errorf("%s: err = %v, want %v naming the file", filepath.Base(tc.path), err, tc.want)
		}
	}
	if _, err := p.ProbeFile(blank); !errors.Is(err, ErrNoFace) {
		t.Errorf("probe of a blank wall: err = %v", err)
	}
	if _, err := p.EnrollFile(filepath.Join(t.TempDir(), "missing.jpg")); err == nil || errors.Is(err, ErrNoUsableFace) {
		t.Errorf("missing file: err = %v, want a read error", err)
	}
}

func TestOpenRefusesAlteredRecogniser(t *testing.T) {
	set := openSet(t)
	dir := t.TempDir()
	for _, dest := range []string{"blazeface/face_detection_back_256x256_barracuda.onnx", RecogniserModel} {
		src, _ := set.Path(dest)
		data, _ := os.ReadFile(src)
		os.MkdirAll(filepath.Join(dir, filepath.Dir(dest)), 0o755)
		if dest == RecogniserModel {
			data[len(data)/2] ^= 1
		}
		os.WriteFile(filepath.Join(dir, dest), data, 0o644)
	}
	alt, _ := models.Open(dir)
	_, err := Open(alt, Options{})
	if err == nil || !strings.Contains(err.Error(), RecogniserModel) {
		t.Fatalf("err = %v, want one naming %s", err, RecogniserModel)
	}
}

// TestMemoryFlat: a long run of frames leaves the resident set flat, so
// every Mat made per frame and per face is closed.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	p, set := open(t, Options{})
	img, err := imageio.Load(sample(t, set, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(img, &small, image.Pt(640, 450), 0, 0, gocv.InterpolationArea)
	for i := 0; i < 20; i++ {
		p.Process(small)
	}
	runtime.GC()
	before := int(lanedtest.RSS(t) / 1024)
	f := matFrame(t, small, "front", 1)
	for i := 0; i < 150; i++ {
		if _, err := p.Process(small); err != nil {
			t.Fatal(err)
		}
		an, err := p.AnalyzeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Embed(chipsOf(an)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	grow := int(lanedtest.RSS(t)/1024) - before
	t.Logf("RSS growth over 150 frames each processed and analysed+embedded: %d KiB", grow)
	if grow > 12<<10 {
		t.Fatalf("RSS grew %d KiB over 150 frames", grow)
	}
}

// benchFrame loads a frame made by internal/bench (mkframes), skipping
// when it has not been made.
func benchFrame(b *testing.B, name string) gocv.Mat {
	dir := os.Getenv("LANED_BENCH_FRAMES")
	if dir == "" {
		set := openSet(b)
		dir = filepath.Join(set.Dir(), "bench")
	}
	img, err := imageio.Load(filepath.Join(dir, name+".png"))
	if err != nil {
		b.Skipf("benchmark frame missing (make bench makes it): %v", err)
	}
	return img
}

// BenchmarkAlignEmbed is the per-face cost: align the chip and embed it,
// on each recogniser engine in the same run (the first is the default).
// Besides wall time it reports the process's CPU time per face (all
// threads), which other jobs on a shared machine disturb much less.
func BenchmarkAlignEmbed(b *testing.B) {
	for _, eng := range []embed.Engine{embed.EngineOneDNN, embed.EngineOpenCV} {
		b.Run(string(eng), func(b *testing.B) {
			p, _ := open(b, Options{Embed: embed.Options{Engine: eng}})
			img := benchFrame(b, "1080p-3faces")
			defer img.Close()
			fr, err := p.Process(img)
			if err != nil || len(fr.Faces) == 0 {
				b.Fatalf("no face to embed: %v", err)
			}
			face := fr.Faces[0].Face
			chip := gocv.NewMat()
			defer chip.Close()
			cpu0 := lanedtest.CPUTime(b)
			b.ResetTimer()
			// as the split pipeline does it: align into a Mat, the chip
			// out as owned bytes (Analyze), back in and embedded (Embed)
			for i := 0; i < b.N; i++ {
				if err := align.Chip(img, face, &chip); err != nil {
					b.Fatal(err)
				}
				if _, err := p.Embed([]vision.Chip{{Side: ChipSide, Pix: chip.ToBytes()}}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
			b.ReportMetric(float64((lanedtest.CPUTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/face")
		})
	}
}

// BenchmarkPipeline1080p3Faces is one 1920×1080 frame with three faces end
// to end (detect, quality, align, embed): first the default (faces down to
// searchFloor, 46 px), then the detector's own
// default search down to 36 px, a booth profile that searches down to
// 96 px (a driver's face at a lane camera's usual distance is larger), and
// the full-frame pass alone (faces of ~105 px and up).
func BenchmarkPipeline1080p3Faces(b *testing.B) {
	for _, tc := range []struct {
		name    string
		minFace int
	}{{"default", 0}, {"minface36", 36}, {"minface96", 96}, {"fullframe", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			p, _ := open(b, Options{Detect: detect.Options{MinFace: tc.minFace}})
			img := benchFrame(b, "1080p-3faces")
			defer img.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fr, err := p.Process(img)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(fr.Usable()); n != 3 {
					for _, f := range fr.Faces {
						b.Logf("face %v: %+v", f.Box, f.Quality)
					}
					b.Fatalf("%d usable faces, want 3", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
	// the same frame with analysis only (detect, quality, align; no
	// embedding), as the lane runs every frame: make bench's table lists
	// it beside the full one
	b.Run("analysis-only", benchAnalyze1080p(false))
	b.Run("analysis-only-frame", benchAnalyze1080p(true))
}

// TestBoxPerEyeDistance keeps MinFaceFor honest: on every face the
// detector finds in face-api's demo photos, the box side is at least
// boxPerEyeDistance times the inter-eye distance, so a face smaller than
// MinFaceFor(th) cannot have eyes th.MinEyeDistance apart.
func TestBoxPerEyeDistance(t *testing.T) {
	p, set := open(t, Options{Detect: detect.Options{MinFace: 24}})
	n, lowest := 0, math.Inf(1)
	for i := 1; i <= 6; i++ {
		img, err := imageio.Load(sample(t, set, i))
		if err != nil {
			t.Fatal(err)
		}
		faces, err := p.det.Detect(img)
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range faces {
			n++
			r := f.Box.W() / f.EyeDistance()
			lowest = min(lowest, float64(r))
			if r < boxPerEyeDistance {
				t.Errorf("sample%d: box %v with eyes %.1f px apart: ratio %.2f below %.2f", i, f.Box, f.EyeDistance(), r, boxPerEyeDistance)
			}
		}
	}
	t.Logf("%d faces, lowest box/eye-distance ratio %.3f", n, lowest)
	if n < 15 {
		t.Fatalf("only %d faces in the demo photos: too few to calibrate on", n)
	}
	if got := MinFaceFor(quality.Thresholds{}); got != 27 {
		t.Errorf("MinFaceFor(default) = %d, want 27", got)
	}
}
