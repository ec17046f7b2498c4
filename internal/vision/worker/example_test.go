package worker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/worker"
)

// oneFace stands in for *pipeline.Pipeline: every frame holds one usable face.
type oneFace struct{}

func (oneFace) AnalyzeFrame(f *frame.Frame) (vision.Analysis, error) {
	c := vision.Candidate{Camera: f.Camera, Seq: f.Seq, Time: f.Time,
		Quality: vision.Quality{Score: 0.8, Verdict: vision.VerdictOK},
		Chip:    vision.Chip{Side: 1, Pix: []byte{1, 2, 3}}}
	return vision.Analysis{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Candidates: []vision.Candidate{c}}, nil
}

func (oneFace) Embed(chips []vision.Chip) ([]vision.Embedding, error) {
	return make([]vision.Embedding, len(chips)), nil
}

func ExampleWorker() {
	w, err := worker.New(oneFace{}, nil)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }() // the daemon runs it under its errgroup

	lane := w.Client(worker.PriorityLane) // the console uses PriorityConsole
	f := &frame.Frame{Camera: "front", Seq: 1, Time: time.Unix(0, 0), Width: 2, Height: 1, Pix: make([]byte, 6)}
	an, err := lane.Analyze(ctx, f)
	if err != nil {
		panic(err)
	}
	embs, err := lane.Embed(ctx, []vision.Chip{an.Candidates[0].Chip})
	fmt.Println(an.Camera, an.Seq, an.Candidates[0].Quality.Verdict, len(embs), err)

	cancel()
	fmt.Println("run:", <-done)
	_, err = lane.Analyze(context.Background(), f)
	fmt.Println(err)
	// Output:
	// front 1 ok 1 <nil>
	// run: <nil>
	// inference worker closed
}
