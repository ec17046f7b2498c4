package lanetest_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/lane/passgen"
)

// TestEvalRealtimeRendered: frames rendered and offered on the scenario's
// own 15 fps schedule to an analyzer slower than two cameras deliver
// (40 ms a frame): the lane skips and counts, and still sends one summary
// per vehicle with every occupant captured. In a synctest bubble, so the
// wall clock is simulated.
func TestEvalRealtimeRendered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		people, ids := synthPeople(4, 2)
		sc, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front", "side"}, Seed: 3},
			lanetest.Mix(3, people, 6))
		if err != nil {
			t.Fatal(err)
		}
		script := lanetest.TruthScript(sc, 3)
		an := &lanetest.Analyzer{Script: script, Cost: 40 * time.Millisecond}
		rep, err := lanetest.Eval(context.Background(), lanetest.EvalConfig{Scenario: sc, Analyzer: an,
			Gallery: lanetest.NewGallery(lanetest.NewSnapshot("g1", ids...)), Render: true})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		rep.WriteTable(&b)
		t.Log("\n" + b.String())
		o := rep.Overall
		if o.ExactlyOne != o.Vehicles || rep.Phantoms != 0 {
			t.Errorf("%d of %d vehicles with exactly one summary, %d phantoms", o.ExactlyOne, o.Vehicles, rep.Phantoms)
		}
		if rep.Skipped == 0 {
			t.Error("no frame skipped with analysis slower than the cameras")
		}
		if o.UsablePct < 95 || o.FalseMatches > 0 {
			t.Errorf("usable %.1f%%, %d false matches", o.UsablePct, o.FalseMatches)
		}
	})
}
