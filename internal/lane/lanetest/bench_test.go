package lanetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/lane/passgen"
)

// BenchmarkEnginePass: the engine's own cost for one 4-occupant vehicle
// seen by two cameras (about 70 frames per camera), with the scripted
// analyzer (no inference, no rendering): tracking, best shots, merging,
// decision, summary. Reported per frame analysed, to set beside the
// analyzer's per-frame cost.
func BenchmarkEnginePass(b *testing.B) {
	people, ids := synthPeople(4, 0)
	sc, err := passgen.Generate(passgen.Config{Cameras: []string{"front", "side"}, Seed: 5},
		[]passgen.Vehicle{{Occupants: people, Speed: 2.5, Gap: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	gal := lanetest.NewGallery(lanetest.NewSnapshot("g", ids...))
	var frames uint64
	for b.Loop() {
		rep, err := lanetest.Eval(context.Background(), lanetest.EvalConfig{Scenario: sc,
			Analyzer: &lanetest.Analyzer{Script: lanetest.TruthScript(sc, 5)}, Gallery: gal, Lockstep: true})
		if err != nil || rep.Overall.ExactlyOne != 1 {
			b.Fatal(err, rep.Overall)
		}
		frames += rep.Analysed
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}
