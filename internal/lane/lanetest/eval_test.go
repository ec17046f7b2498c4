package lanetest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/lane/passgen"
)

func synthPeople(enrolled, strangers int) (people []passgen.Person, ids []string) {
	for i := range enrolled {
		id := fmt.Sprintf("S-%03d", i+1)
		people = append(people, passgen.Person{ID: id, Enrolled: true, Face: passgen.SyntheticFace(id)})
		ids = append(ids, id)
	}
	for i := range strangers {
		id := fmt.Sprintf("X-%03d", i+1)
		people = append(people, passgen.Person{ID: id, Face: passgen.SyntheticFace(id)})
	}
	return people, ids
}

// TestEvalScripted runs generated passes (every variant, 1–4 occupants,
// strangers, two cameras, tailgaters, a long empty stretch) through a real
// lane with the scripted analyzer. The figures measure the engine's
// capture, tracking and decision logic, not a detector. Both fusion modes.
func TestEvalScripted(t *testing.T) {
	n := 120
	if testing.Short() {
		n = 16
	}
	people, ids := synthPeople(12, 12)
	for _, fusion := range []string{lane.FusionMean, lane.FusionVote} {
		t.Run(fusion, func(t *testing.T) {
			sc, err := passgen.Generate(passgen.Config{Width: 640, Height: 360, Cameras: []string{"front", "side"}, Seed: 7},
				lanetest.Mix(7, people, n))
			if err != nil {
				t.Fatal(err)
			}
			sc.Trail(60 * time.Second) // an empty lane: no phantom vehicles
			an := &lanetest.Analyzer{Script: lanetest.TruthScript(sc, 7), Cost: 0}
			rep, err := lanetest.Eval(context.Background(), lanetest.EvalConfig{Scenario: sc, Analyzer: an,
				Gallery: lanetest.NewGallery(lanetest.NewSnapshot("g1", ids...)), Lockstep: true,
				Lane: lane.Config{Fusion: fusion}})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			rep.WriteTable(&b)
			t.Logf("fusion %s, %d vehicles:\n%s", fusion, n, b.String())
			if os.Getenv("LANED_EVAL_TABLE") != "" {
				fmt.Println(b.String())
			}
			o := rep.Overall
			if rep.Phantoms != 0 || o.ExactlyOne != o.Vehicles || o.Summaries != o.Vehicles {
				t.Errorf("summaries: %d for %d vehicles, %d with exactly one, %d phantoms", o.Summaries, o.Vehicles, o.ExactlyOne, rep.Phantoms)
			}
			for _, v := range append(rep.ByVariant, o) {
				if v.UsablePct < 95 {
					t.Errorf("%s: usable capture %.1f%% < 95%%", v.Variant, v.UsablePct)
				}
				// Vote loses matches on noisy shots (their mean score falls
				// into the candidate band): measured, reported, mean is the
				// default. Only mean is held to 97%.
				if v.CorrectPct < 97 && fusion == lane.FusionMean {
					t.Errorf("%s: correct match %.1f%% < 97%%", v.Variant, v.CorrectPct)
				}
				if v.FalseMatches > 0 {
					t.Errorf("%s: %d false matches", v.Variant, v.FalseMatches)
				}
				if v.Extra > max(1, v.Occupants/20) || v.Missed > 0 { // ≤ 5% phantom occupants
					t.Errorf("%s: %d phantom and %d missed occupants of %d", v.Variant, v.Extra, v.Missed, v.Occupants)
				}
			}
			if ch, tm := an.Leaked(); ch != 0 || tm != 0 {
				t.Errorf("%d chips, %d templates not zeroed after the run", ch, tm)
			}
		})
	}
}
