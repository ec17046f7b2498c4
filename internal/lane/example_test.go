package lane_test

import (
	"context"
	"fmt"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/vision"
)

// A lane on a simulated clock: the arrival loop, 2 s of frames with one
// enrolled face, the departure loop, and the one summary that results.
// Sync makes each step wait for the engine, as replay does.
func Example() {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	face := func(f *frame.Frame) []lanetest.FakeFace {
		x := float32(100 + 10*f.Seq)
		return []lanetest.FakeFace{{Identity: "S-000481", Box: vision.Box{X0: x, Y0: 100, X1: x + 80, Y1: 180},
			Quality: vision.Quality{Score: 0.85, Verdict: vision.VerdictOK}}}
	}
	sink := &lanetest.Sink{}
	l, err := lane.New(lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}}}, lane.Deps{
		Site: "north", Lane: "L2", Clock: clk, Sink: sink,
		Analyzer: &lanetest.Analyzer{Script: face},
		Gallery:  lanetest.NewGallery(lanetest.NewSnapshot("g42", "S-000481", "S-000112")),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()

	signal := func(in string, on bool) {
		l.Signal(lane.Signal{Source: in, Kind: lane.Level, Active: on, Time: clk.Now()})
	}
	signal("arrival", true)
	for i := range 30 { // 2 s at 15 fps
		l.Offer(&frame.Frame{Camera: "front", Seq: uint64(i + 1), Time: clk.Now(), Width: 1280, Height: 720})
		l.Sync(ctx)
		clk.Advance(time.Second / 15)
		if i == 15 {
			signal("arrival", false)
			signal("departure", true)
		}
	}
	signal("departure", false)
	for range 10 { // the post margin, no frames needed
		clk.Advance(100 * time.Millisecond)
		l.Offer(&frame.Frame{Camera: "front", Seq: 99, Time: clk.Now(), Width: 1280, Height: 720})
		l.Sync(ctx)
	}
	cancel()
	<-done

	for _, s := range sink.Summaries() {
		o := s.Occupants[0]
		fmt.Println(s.TransactionID, s.GalleryVersion, s.End, o.Decision, o.SubjectID, o.Attempts.Faces > 0)
	}
	// Output:
	// L2-20261201T080000.000-0001 g42 departure match S-000481 true
}
