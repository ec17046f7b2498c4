package worker_test

// A cgo-free consumer of the analysis API, as the lane engine is: it
// declares the interface it needs, gets frames analysed, keeps the best K
// usable shots of a pass by quality score and embeds only those. It runs
// against the real worker over a scripted backend, so `CGO_ENABLED=0 go
// test ./internal/vision/worker/` builds and runs it without OpenCV.

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/worker"
)

// Analyzer is what the lane engine declares.
type Analyzer interface {
	Analyze(ctx context.Context, f *frame.Frame) (vision.Analysis, error)
	Embed(ctx context.Context, chips []vision.Chip) ([]vision.Embedding, error)
}

var _ Analyzer = worker.Client{}

// shot is one chosen capture of a pass.
type shot struct {
	Seq      uint64
	Time     time.Time
	Score    float64
	Template vision.Embedding
}

// bestShots analyses frames, keeps the k usable candidates with the
// highest quality score, and embeds those k chips in one batch. It returns
// the shots best first and the verdict of the best refused candidate when
// nothing was usable.
func bestShots(ctx context.Context, a Analyzer, frames []*frame.Frame, k int) ([]shot, vision.Verdict, error) {
	var usable, refused []vision.Candidate
	for _, f := range frames {
		an, err := a.Analyze(ctx, f)
		if err != nil {
			return nil, "", err
		}
		for _, c := range an.Candidates {
			if c.Quality.Usable() {
				usable = append(usable, c)
			} else {
				refused = append(refused, c)
			}
		}
	}
	if len(usable) == 0 {
		if len(refused) == 0 {
			return nil, "", nil
		}
		sort.SliceStable(refused, func(i, j int) bool { return refused[i].Quality.Score > refused[j].Quality.Score })
		return nil, refused[0].Quality.Verdict, nil
	}
	sort.SliceStable(usable, func(i, j int) bool { return usable[i].Quality.Score > usable[j].Quality.Score })
	usable = usable[:min(k, len(usable))]
	chips := make([]vision.Chip, len(usable))
	for i, c := range usable {
		chips[i] = c.Chip
	}
	embs, err := a.Embed(ctx, chips)
	if err != nil {
		return nil, "", err
	}
	out := make([]shot, len(usable))
	for i, c := range usable {
		out[i] = shot{Seq: c.Seq, Time: c.Time, Score: c.Quality.Score, Template: embs[i]}
	}
	return out, "", nil
}

// scripted is a backend whose frame i yields one face of score[i]
// (negative: refused as blurred with score -score[i]); its chip's first
// byte is the frame number, and so is its template's one value.
type scripted struct {
	score    []float64
	embedded []int
}

func (s *scripted) AnalyzeFrame(f *frame.Frame) (vision.Analysis, error) {
	an := vision.Analysis{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Width: f.Width, Height: f.Height}
	q := vision.Quality{Score: s.score[f.Seq], Verdict: vision.VerdictOK}
	c := vision.Candidate{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Quality: q}
	if q.Score < 0 {
		c.Quality.Score, c.Quality.Verdict = -q.Score, vision.VerdictBlurred
	} else {
		pix := make([]byte, 3*4*4)
		pix[0] = byte(f.Seq)
		c.Chip = vision.Chip{Side: 4, Pix: pix}
	}
	an.Candidates = append(an.Candidates, c)
	return an, nil
}

func (s *scripted) Embed(chips []vision.Chip) ([]vision.Embedding, error) {
	out := make([]vision.Embedding, len(chips))
	for i, c := range chips {
		s.embedded = append(s.embedded, int(c.Pix[0]))
		out[i] = vision.Embedding{float32(c.Pix[0])}
	}
	return out, nil
}

func pass(n int, t0 time.Time) []*frame.Frame {
	fs := make([]*frame.Frame, n)
	for i := range fs {
		fs[i] = &frame.Frame{Camera: "front", Seq: uint64(i), Time: t0.Add(time.Duration(i) * 66 * time.Millisecond),
			Width: 8, Height: 6, Pix: make([]byte, 8*6*3)}
	}
	return fs
}

func TestConsumerChoosesBestShots(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		score     []float64
		k         int
		wantSeq   []uint64
		wantWhy   vision.Verdict
		wantEmbed []int
	}{
		{"best three of six, far frames ignored", []float64{0.3, 0.5, 0.9, 0.8, -0.15, 0.6}, 3, []uint64{2, 3, 5}, "", []int{2, 3, 5}},
		{"fewer usable than k", []float64{-0.1, 0.4, -0.2}, 3, []uint64{1}, "", []int{1}},
		{"nothing usable: the best attempt's reason", []float64{-0.1, -0.19, -0.05}, 3, nil, vision.VerdictBlurred, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &scripted{score: tc.score}
			w, stop, err := worker.Start(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			ctx := context.Background()
			shots, why, err := bestShots(ctx, w.Client(worker.PriorityLane), pass(len(tc.score), t0), tc.k)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for i, s := range shots {
				seqs = append(seqs, s.Seq)
				if want := t0.Add(time.Duration(s.Seq) * 66 * time.Millisecond); !s.Time.Equal(want) {
					t.Errorf("shot %d stamped %v, want its capture time %v", s.Seq, s.Time, want)
				}
				if len(s.Template) != 1 || s.Template[0] != float32(s.Seq) {
					t.Errorf("shot %d got template %v: templates out of order", s.Seq, s.Template)
				}
				if i > 0 && s.Score > shots[i-1].Score {
					t.Error("shots not best first")
				}
			}
			slices.Sort(seqs)
			if !slices.Equal(seqs, tc.wantSeq) || why != tc.wantWhy {
				t.Errorf("chose frames %v (reason %q), want %v (%q)", seqs, why, tc.wantSeq, tc.wantWhy)
			}
			slices.Sort(b.embedded)
			if !slices.Equal(b.embedded, tc.wantEmbed) {
				t.Errorf("embedded chips of frames %v, want only %v", b.embedded, tc.wantEmbed)
			}
		})
	}
}
