package embed

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/vision"
)

func colorFor(i int) color.RGBA {
	return color.RGBA{uint8(40 * i), uint8(255 - 30*i), uint8(90 + 20*i), 0}
}

// testChip is random texture with two coloured blobs placed by seed.
func testChip(t testing.TB, seed int) gocv.Mat {
	t.Helper()
	chip := gocv.NewMatWithSize(ChipSide, ChipSide, gocv.MatTypeCV8UC3)
	gocv.RandU(&chip, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	gocv.Circle(&chip, image.Pt(47+seed, 47), 8, colorFor(seed), -1)
	gocv.Circle(&chip, image.Pt(101, 48+seed), 8, colorFor(seed+1), -1)
	return chip
}

func TestEmbedDeterministicAndFinite(t *testing.T) {
	e, err := Open(lanedtest.RecognitionModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, b := testChip(t, 0), testChip(t, 9)
	defer a.Close()
	defer b.Close()
	ea, err := e.Embed(a)
	if err != nil {
		t.Fatal(err)
	}
	ea2, _ := e.Embed(a)
	eb, _ := e.Embed(b)
	if len(ea) != Dim {
		t.Fatalf("len = %d", len(ea))
	}
	var same, diff float64
	for i := range ea {
		if math.IsNaN(float64(ea[i])) || math.IsInf(float64(ea[i]), 0) {
			t.Fatalf("value %d is %v", i, ea[i])
		}
		same += math.Abs(float64(ea[i] - ea2[i]))
		diff += math.Abs(float64(ea[i] - eb[i]))
	}
	if same != 0 {
		t.Fatalf("same chip gave different templates (sum |Δ| = %g)", same)
	}
	if diff == 0 {
		t.Fatal("different chips gave identical templates")
	}
}

func TestEmbedRejectsBadChips(t *testing.T) {
	e, err := Open(lanedtest.RecognitionModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tests := []struct {
		name string
		mat  gocv.Mat
	}{
		{"empty", gocv.NewMat()},
		{"wrong size", gocv.NewMatWithSize(112, 112, gocv.MatTypeCV8UC3)},
		{"gray", gocv.NewMatWithSize(ChipSide, ChipSide, gocv.MatTypeCV8UC1)},
		{"float", gocv.NewMatWithSize(ChipSide, ChipSide, gocv.MatTypeCV32FC3)},
		{"bgra", gocv.NewMatWithSize(ChipSide, ChipSide, gocv.MatTypeCV8UC4)},
		{"transposed", gocv.NewMatWithSize(ChipSide, ChipSide+1, gocv.MatTypeCV8UC3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.mat.Close()
			if _, err := e.Embed(tc.mat); err == nil || !strings.Contains(err.Error(), "150x150 8-bit BGR chip") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := e.Embed(gocv.Mat{}); err == nil || !strings.Contains(err.Error(), "zero Mat") {
		t.Fatalf("zero Mat: err = %v", err)
	}
	e.Close()
	e.Close() // idempotent
	chip := testChip(t, 0)
	defer chip.Close()
	if _, err := e.Embed(chip); err == nil {
		t.Fatal("embed after Close succeeded")
	}
}

// TestEmbedConcurrent: goroutines sharing one Embedder get the templates a
// lone caller gets.
func TestEmbedConcurrent(t *testing.T) {
	e, err := Open(lanedtest.RecognitionModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const n = 4
	chips := make([]gocv.Mat, n)
	want := make([]vision.Embedding, n)
	for i := range chips {
		chips[i] = testChip(t, i)
		defer chips[i].Close()
		if want[i], err = e.Embed(chips[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n*3)
	for g := range n {
		wg.Go(func() {
			for r := range 3 {
				i := (g + r) % n
				got, err := e.Embed(chips[i])
				if err == nil && !slices.Equal(got, want[i]) {
					err = fmt.Errorf("chip %d: concurrent template differs from the lone one", i)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEmbedMemoryFlat runs many embeddings and checks the resident set
// does not grow: every Mat the embedder makes is closed.
func TestEmbedMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e, err := Open(lanedtest.RecognitionModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	chip := testChip(t, 3)
	defer chip.Close()
	for i := 0; i < 50; i++ { // warm up allocator and OpenCV's buffers
		e.Embed(chip)
	}
	runtime.GC()
	before := int(lanedtest.RSS(t) / 1024)
	for i := 0; i < 400; i++ {
		if _, err := e.Embed(chip); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	grow := int(lanedtest.RSS(t)/1024) - before
	t.Logf("RSS growth over 400 embeddings: %d KiB", grow)
	if grow > 8<<10 { // a leaked 1×3×150×150 float blob alone is 264 KiB per call
		t.Fatalf("RSS grew %d KiB over 400 embeddings", grow)
	}
}

// BenchmarkEmbed is one face: chip → template, on each engine in the same
// run. Besides wall time it reports the process's CPU time per face
// (user+sys, all engine threads), which the other jobs on a shared machine
// disturb much less.
func BenchmarkEmbed(b *testing.B) {
	for _, eng := range []Engine{EngineOneDNN, EngineOpenCV} {
		b.Run(string(eng), func(b *testing.B) { benchEmbed(b, eng) })
	}
}

func benchEmbed(b *testing.B, eng Engine) {
	e, err := OpenWith(lanedtest.RecognitionModel(b), Options{Engine: eng})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	chip := testChip(b, 1)
	defer chip.Close()
	b.ReportAllocs()
	cpu0 := lanedtest.CPUTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Embed(chip); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
	b.ReportMetric(float64((lanedtest.CPUTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/face")
}
