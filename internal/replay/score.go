package replay

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/summary"
)

// ScenarioFrames plays one camera of a generated scenario (rendered
// lazily, frame by frame).
func ScenarioFrames(s *passgen.Scenario, cam string) Frames { return &scenFrames{s: s, cam: cam} }

type scenFrames struct {
	s   *passgen.Scenario
	cam string
	i   int
}

func (f *scenFrames) Name() string { return f.cam }

func (f *scenFrames) Next(ctx context.Context, dst *frame.Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.i >= f.s.Frames() {
		return camera.ErrEnded
	}
	*dst = *f.s.Render(f.cam, f.i)
	f.i++
	return nil
}

// Figures are the capture and match figures of one variant (or all).
type Figures struct {
	Vehicles, Summaries, Missing, Duplicates int
	Occupants, Usable                        int // occupants in the truth; those with a usable capture
	Enrolled, MatchedRight                   int // enrolled occupants; matched to themselves
	Strangers, StrangersMatched              int // strangers; match decisions the vehicle's enrolled occupants do not explain
	WrongMatches                             int // match decisions naming someone not in the vehicle
	Candidates                               int // occupants decided candidate
}

func (f *Figures) add(g Figures) {
	f.Vehicles += g.Vehicles
	f.Summaries += g.Summaries
	f.Missing += g.Missing
	f.Duplicates += g.Duplicates
	f.Occupants += g.Occupants
	f.Usable += g.Usable
	f.Enrolled += g.Enrolled
	f.MatchedRight += g.MatchedRight
	f.Strangers += g.Strangers
	f.StrangersMatched += g.StrangersMatched
	f.WrongMatches += g.WrongMatches
	f.Candidates += g.Candidates
}

// Rates: usable capture, enrolled matched right, strangers matched.
func (f Figures) Rates() (usable, matched, strangers float64) {
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	return div(f.Usable, f.Occupants), div(f.MatchedRight, f.Enrolled), div(f.StrangersMatched, f.Strangers)
}

// Score is a scenario's figures per variant, overall, and the summaries
// that belong to no vehicle.
type Score struct {
	ByVariant map[passgen.Variant]Figures
	All       Figures
	Phantoms  int
}

// ScoreScenario assigns each summary to the vehicle whose arrival is
// nearest its detected_at within the vehicle's presence (±1 s) and scores
// it against the ground truth. start is the scenario's frame 0 time.
func ScoreScenario(truth []passgen.VehicleTruth, start time.Time, sums []*summary.Transaction) Score {
	sc := Score{ByVariant: map[passgen.Variant]Figures{}}
	per := make([][]*summary.Transaction, len(truth))
	for _, s := range sums {
		best, bestD := -1, time.Duration(1<<62)
		for i, v := range truth {
			a, d := start.Add(v.Arrive), start.Add(v.Depart)
			if s.DetectedAt.Before(a.Add(-time.Second)) || s.DetectedAt.After(d.Add(time.Second)) {
				continue
			}
			if dd := absDur(s.DetectedAt.Sub(a)); dd < bestD {
				best, bestD = i, dd
			}
		}
		if best < 0 {
			sc.Phantoms++
			continue
		}
		per[best] = append(per[best], s)
	}
	for i, v := range truth {
		g := Figures{Vehicles: 1, Summaries: len(per[i]), Occupants: len(v.Occupants)}
		if len(per[i]) == 0 {
			g.Missing = 1
		}
		if len(per[i]) > 1 {
			g.Duplicates = len(per[i]) - 1
		}
		in := map[string]bool{}
		for _, o := range v.Occupants {
			if o.Enrolled {
				g.Enrolled++
				in[o.ID] = true
			} else {
				g.Strangers++
			}
		}
		usable, matched := 0, map[string]bool{}
		unexplained := 0
		for _, s := range per[i] {
			for _, o := range s.Occupants {
				switch o.Decision {
				case summary.NoUsableImage:
					continue
				case summary.Match:
					if in[o.SubjectID] {
						matched[o.SubjectID] = true
					} else {
						g.WrongMatches++
						unexplained++
					}
				case summary.Candidate:
					g.Candidates++
				}
				usable++
			}
		}
		g.Usable = min(usable, g.Occupants)
		g.MatchedRight = len(matched)
		g.StrangersMatched = min(unexplained, g.Strangers)
		f := sc.ByVariant[v.Variant]
		f.add(g)
		sc.ByVariant[v.Variant] = f
		sc.All.add(g)
	}
	return sc
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Print writes the score as a table, one line per variant and a total.
func (sc Score) Print(w io.Writer) {
	fmt.Fprintf(w, "%-8s %8s %9s %7s %7s %9s %9s %9s %10s %10s\n", "variant", "vehicles", "summaries", "missing", "extra",
		"occupants", "usable", "enrolled", "matched", "strangers")
	vs := make([]string, 0, len(sc.ByVariant))
	for v := range sc.ByVariant {
		vs = append(vs, string(v))
	}
	sort.Strings(vs)
	line := func(name string, f Figures) {
		u, m, s := f.Rates()
		fmt.Fprintf(w, "%-8s %8d %9d %7d %7d %9d %8.1f%% %9d %9.1f%% %4d→%4.1f%%\n", name, f.Vehicles, f.Summaries, f.Missing,
			f.Duplicates, f.Occupants, 100*u, f.Enrolled, 100*m, f.Strangers, 100*s)
	}
	for _, v := range vs {
		line(v, sc.ByVariant[passgen.Variant(v)])
	}
	line("all", sc.All)
	fmt.Fprintf(w, "phantom summaries (no vehicle): %d; wrong matches: %d; candidates: %d\n", sc.Phantoms, sc.All.WrongMatches, sc.All.Candidates)
}
