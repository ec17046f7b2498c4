package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/worker"
)

// matFrame copies an 8-bit BGR Mat into a frame.
func matFrame(t testing.TB, m gocv.Mat, camera string, seq uint64) *frame.Frame {
	t.Helper()
	return &frame.Frame{Camera: camera, Seq: seq, Time: time.Date(2026, 12, 1, 8, 0, 0, int(seq)*1e6, time.UTC),
		Width: m.Cols(), Height: m.Rows(), Pix: m.ToBytes()}
}

// chipsOf returns the chips of an analysis's usable candidates.
func chipsOf(an vision.Analysis) []vision.Chip {
	var chips []vision.Chip
	for _, c := range an.Candidates {
		if c.Quality.Usable() {
			chips = append(chips, c.Chip)
		}
	}
	return chips
}

// TestAnalyzeThenEmbedIsProcess: the split API gives exactly the faces,
// verdicts and templates Process gives, stamped with the frame's camera,
// sequence and capture time, and its chips are owned copies.
func TestAnalyzeThenEmbedIsProcess(t *testing.T) {
	p, set := open(t, Options{})
	img, err := imageio.Load(sample(t, set, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	fr, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	f := matFrame(t, img, "front", 42)
	an, err := p.AnalyzeFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	if an.Camera != "front" || an.Seq != 42 || !an.Time.Equal(f.Time) || an.Width != img.Cols() || an.Height != img.Rows() {
		t.Errorf("analysis stamped %s#%d %v %dx%d, want the frame's", an.Camera, an.Seq, an.Time, an.Width, an.Height)
	}
	if len(an.Candidates) != len(fr.Faces) || len(fr.Faces) != 3 {
		t.Fatalf("%d candidates, Process found %d faces; want 3 and 3", len(an.Candidates), len(fr.Faces))
	}
	if an.Timings.Detect <= 0 || an.Timings.Total < an.Timings.Detect {
		t.Errorf("timings %+v", an.Timings)
	}
	chips := chipsOf(an)
	if len(chips) != 3 {
		t.Fatalf("%d usable chips, want 3", len(chips))
	}
	for i, c := range an.Candidates {
		if c.Camera != "front" || c.Seq != 42 || !c.Time.Equal(f.Time) {
			t.Errorf("candidate %d stamped %s#%d %v", i, c.Camera, c.Seq, c.Time)
		}
		if c.Face != fr.Faces[i].Face || c.Quality != fr.Faces[i].Quality {
			t.Errorf("candidate %d differs from Process: %+v vs %+v", i, c, fr.Faces[i])
		}
		if c.Quality.Verdict != vision.VerdictOK || !(c.Quality.Score > 0.2 && c.Quality.Score <= 1) {
			t.Errorf("candidate %d: verdict %q score %.3f, want ok in (0.2,1]", i, c.Quality.Verdict, c.Quality.Score)
		}
		if c.Chip.Side != ChipSide || c.Chip.Validate() != nil {
			t.Errorf("candidate %d chip %dx%d with %d bytes", i, c.Chip.Side, c.Chip.Side, len(c.Chip.Pix))
		}
	}
	// the chips outlive the pooled Mats: analysing another frame must not
	// change them
	before := slices.Clone(chips[0].Pix)
	dark := gocv.NewMat()
	defer dark.Close()
	img.ConvertToWithParams(&dark, gocv.MatTypeCV8UC3, 0.5, 0)
	if _, err := p.AnalyzeFrame(matFrame(t, dark, "front", 43)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, chips[0].Pix) {
		t.Fatal("a chip changed when the next frame was analysed: not owned")
	}
	embs, err := p.Embed(chips)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range embs {
		if !slices.Equal(e, fr.Faces[i].Embedding) {
			t.Errorf("template %d differs from Process's", i)
		}
	}
}

func TestAnalyzeFrameRefusesBadInput(t *testing.T) {
	p, _ := open(t, Options{})
	for _, f := range []*frame.Frame{
		nil,
		{Camera: "front", Seq: 3, Width: 640, Height: 480, Pix: make([]byte, 100)},
		{Camera: "front", Seq: 4, Width: 0, Height: 480},
	} {
		if _, err := p.AnalyzeFrame(f); err == nil {
			t.Errorf("frame %v accepted", f)
		} else if f != nil && !strings.Contains(err.Error(), "front#") {
			t.Errorf("error %q does not name the frame", err)
		}
	}
	for _, c := range [][]vision.Chip{
		{{Side: 150, Pix: make([]byte, 10)}},
		{{Side: 112, Pix: make([]byte, 112*112*3)}},
		{{Side: 150, Pix: make([]byte, 150*150*3)}, {}},
	} {
		if _, err := p.Embed(c); err == nil {
			t.Errorf("chips %d accepted", len(c))
		}
	}
}

// TestWorkerRunsPipeline: the inference worker over the real pipeline
// serves the lane's analysis and embedding from its own goroutine.
func TestWorkerRunsPipeline(t *testing.T) {
	p, set := open(t, Options{})
	img, err := imageio.Load(sample(t, set, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	want, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	w, stop, err := worker.Start(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	lane := w.Client(worker.PriorityLane)
	an, err := lane.Analyze(ctx, matFrame(t, img, "side", 9))
	if err != nil {
		t.Fatal(err)
	}
	embs, err := lane.Embed(ctx, chipsOf(an))
	if err != nil {
		t.Fatal(err)
	}
	usable := want.Usable()
	if len(usable) == 0 || len(embs) != len(usable) {
		t.Fatalf("%d templates through the worker, %d from Process", len(embs), len(usable))
	}
	for i := range embs {
		if !slices.Equal(embs[i], usable[i].Embedding) {
			t.Errorf("template %d differs through the worker", i)
		}
	}
}

// benchAnalyze1080p is the 1080p 3-face frame with analysis only, from a
// Mat, or from a frame.Frame (the lane's path: pixels copied into a pooled
// Mat).
func benchAnalyze1080p(fromFrame bool) func(b *testing.B) {
	return func(b *testing.B) {
		p, _ := open(b, Options{})
		img := benchFrame(b, "1080p-3faces")
		defer img.Close()
		f := matFrame(b, img, "front", 1)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var an vision.Analysis
			var err error
			if fromFrame {
				an, err = p.AnalyzeFrame(f)
			} else {
				an, err = p.Analyze(img)
			}
			if err != nil {
				b.Fatal(err)
			}
			if n := len(chipsOf(an)); n != 3 {
				b.Fatalf("%d usable faces, want 3", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
	}
}
