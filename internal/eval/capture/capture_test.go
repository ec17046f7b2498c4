package capture

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/pipeline"
)

func TestErrorVersusDiscard(t *testing.T) {
	// the two lowest scores are the two misses: discarding 20% removes both
	s := []ProbeScore{{0.9, 0.2}, {0.1, 0.5}, {0.8, 0.1}, {0.2, 0.45}, {0.7, 0.3}, {0.6, 0.3}, {0.5, 0.2}, {0.4, 0.3}, {0.3, 0.1}, {0.95, 0.2}}
	got := ErrorVersusDiscard(s, 0.38, []float64{0, 0.1, 0.2, 0.5})
	want := []float64{0.2, 1.0 / 9, 0, 0}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		if math.Abs(got[i].FNMR-w) > 1e-9 {
			t.Errorf("discard %.1f: fnmr %.3f, want %.3f", got[i].Discarded, got[i].FNMR, w)
		}
	}
}

// TestRender: a rendered probe is a 1280×720 frame in which the pipeline
// finds the face at the variant's eye distance (within 12%), and the same
// seed renders the same frame.
func TestRender(t *testing.T) {
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
	p, err := pipeline.Open(set, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src, err := imageio.Load(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	an, err := p.Analyze(src)
	if err != nil || len(an.Candidates) == 0 {
		t.Fatalf("no face in %s: %v", paths[0], err)
	}
	f := an.Candidates[0].Face
	for _, v := range []Variant{{Name: "eyes32", EyeDistance: 32}, {Name: "eyes60", EyeDistance: 60}, {Name: "motion", MotionBlur: 5, Glare: 0.3}} {
		probe, err := Render(src, f, v, 7)
		if err != nil {
			t.Fatal(err)
		}
		if probe.Cols() != FrameWidth || probe.Rows() != FrameHeight {
			t.Fatalf("%s: frame %dx%d", v.Name, probe.Cols(), probe.Rows())
		}
		again, err := Render(src, f, v, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(probe.ToBytes(), again.ToBytes()) {
			t.Errorf("%s: two renders with one seed differ", v.Name)
		}
		again.Close()
		pa, err := p.Analyze(probe)
		probe.Close()
		if err != nil || len(pa.Candidates) == 0 {
			t.Fatalf("%s: no face found in the rendered probe: %v", v.Name, err)
		}
		want := v.withDefaults().EyeDistance
		if got := float64(pa.Candidates[0].Face.EyeDistance()); math.Abs(got/want-1) > 0.12 {
			t.Errorf("%s: eyes %.1f px apart in the probe, want %.0f", v.Name, got, want)
		}
	}
	if _, err := Render(src, f, Variant{Name: "bad", Glare: 2}, 1); err == nil {
		t.Error("glare 2 accepted")
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := Render(empty, f, Variant{}, 1); err == nil {
		t.Error("empty source accepted")
	}
}
