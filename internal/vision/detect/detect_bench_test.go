package detect

import (
	"image"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/vision/imageio"
)

// repoRoot is the module root, relative to this package.
var repoRoot = filepath.Join("..", "..", "..")

// modelDir is the model cache; tests that need it skip when it is absent.
func modelDir(t testing.TB) string { return lanedtest.ModelDir(t) }

func openDetector(t testing.TB, opts Options) *Detector {
	t.Helper()
	d, err := Open(modelDir(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// sampleFrame returns a w×h frame: the shared benchmark frame of that size
// when it has been made (internal/bench/frames.json; the JavaScript reference reads
// the same pixels), else one made from face-api's demo/sample1.jpg
// (1920×1280, 3 faces), resized with INTER_AREA for 640×480, centre-cropped
// when the sample is large enough.
func sampleFrame(t testing.TB, w, h int) gocv.Mat {
	t.Helper()
	frames := os.Getenv("LANED_BENCH_FRAMES")
	if frames == "" {
		frames = filepath.Join(modelDir(t), "bench")
	}
	name := map[[2]int]string{{640, 480}: "640x480.png", {1920, 1080}: "1080p-3faces.png"}[[2]int{w, h}]
	if name != "" {
		if img, err := imageio.Load(filepath.Join(frames, name)); err == nil {
			return img
		}
	}
	p := filepath.Join(modelDir(t), "face-api", "demo", "sample1.jpg")
	src, err := imageio.Load(p)
	if err != nil {
		t.Skipf("sample photo: %v", err)
	}
	defer src.Close()
	out := gocv.NewMat()
	if src.Cols() >= w && src.Rows() >= h && w > 1000 {
		x, y := (src.Cols()-w)/2, (src.Rows()-h)/2
		roi := src.Region(image.Rect(x, y, x+w, y+h))
		roi.CopyTo(&out)
		roi.Close()
	} else {
		gocv.Resize(src, &out, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	}
	return out
}

func benchDetect(b *testing.B, w, h int, opts Options) {
	d := openDetector(b, opts)
	frame := sampleFrame(b, w, h)
	defer frame.Close()
	faces, err := d.Detect(frame)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Detect(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(len(faces)), "faces")
	b.ReportMetric(float64(1+len(d.tiles(w, h))), "passes")
}

// BenchmarkDetect640x480 is the acceptance figure (≤ 15 ms) with the
// default options: at 640×480 the full-frame pass already resolves
// DefaultMinFace, so no tiles run.
func BenchmarkDetect640x480(b *testing.B)   { benchDetect(b, 640, 480, Options{}) }
func BenchmarkDetect1920x1080(b *testing.B) { benchDetect(b, 1920, 1080, Options{}) }

// Variants for the tiling decision.
func BenchmarkDetect640x480MinFace24(b *testing.B) { benchDetect(b, 640, 480, Options{MinFace: 24}) }
func BenchmarkDetect1920x1080NoTiles(b *testing.B) {
	benchDetect(b, 1920, 1080, Options{MinFace: -1})
}
func BenchmarkDetect1920x1080MinFace64(b *testing.B) {
	benchDetect(b, 1920, 1080, Options{MinFace: 64})
}
func BenchmarkDetect640x480Front(b *testing.B) {
	benchDetect(b, 640, 480, Options{Model: Front, MinFace: -1})
}
