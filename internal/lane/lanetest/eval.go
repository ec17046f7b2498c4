package lanetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/summary"
)

// EvalConfig is one evaluation run: a scenario through a real lane with
// the given analyzer and gallery.
type EvalConfig struct {
	Scenario *passgen.Scenario
	Analyzer lane.Analyzer
	Gallery  lane.Gallery
	// Lane config; cameras default to the scenario's, full frame.
	Lane lane.Config
	// Render draws every frame's pixels (a real analyzer needs them; the
	// scripted one does not).
	Render bool
	// Lockstep offers the next frame only when the lane has taken the
	// previous ones (as fast as the pipeline allows, nothing skipped);
	// otherwise frames are offered on the scenario's own schedule against
	// the wall clock and the lane skips what it cannot keep up with.
	Lockstep bool
	Logger   *slog.Logger
}

// VariantReport is the figures of one variant (or all).
type VariantReport struct {
	Variant         string
	Vehicles        int
	Summaries       int // assigned to these vehicles
	ExactlyOne      int // vehicles with exactly one summary
	Occupants       int
	Usable          int // occupants with a decision other than no_usable_image
	Enrolled        int
	Correct         int // enrolled occupants matched to themselves
	Strangers       int
	FalseMatches    int // match decisions naming someone not in the vehicle
	Candidates      int // candidate decisions
	Extra           int // summary occupants beyond the vehicle's real ones (phantom occupants)
	Missed          int // real occupants beyond the summary's
	UsablePct       float64
	CorrectPct      float64
	StrangerPct     float64 // false matches per stranger
	MeanCaptureMs   float64
	MeanDecisionMs  float64 // departure (end of capture) → summary, in scenario time
	UnusableReasons map[string]int
}

// Report is an evaluation's result.
type Report struct {
	Overall   VariantReport
	ByVariant []VariantReport
	Phantoms  int    // summaries no vehicle explains
	Skipped   uint64 // frames skipped by the lane
	Analysed  uint64
	Frames    int // offered per camera
	Stats     lane.Stats
	Wall      time.Duration
}

// Eval runs the scenario and scores the summaries against its ground truth.
func Eval(ctx context.Context, cfg EvalConfig) (*Report, error) {
	sc := cfg.Scenario
	if sc == nil || cfg.Analyzer == nil || cfg.Gallery == nil {
		return nil, errors.New("lanetest: eval needs a scenario, an analyzer and a gallery")
	}
	lc := cfg.Lane
	if lc.Cameras == nil {
		for _, c := range sc.Cameras() {
			lc.Cameras = append(lc.Cameras, lane.CameraConfig{Name: c})
		}
	}
	lc = lc.WithDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var clk clock.Clock = clock.Real{}
	var fake *clock.Fake
	start := time.Now()
	if cfg.Lockstep {
		fake = clock.NewFake(sc.Start())
		clk = fake
		start = sc.Start()
	}
	sink := &Sink{}
	l, err := lane.New(lc, lane.Deps{Site: "eval", Lane: "L1", Analyzer: cfg.Analyzer, Gallery: cfg.Gallery, Sink: sink,
		Clock: clk, Logger: log})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = l.Run(rctx) })
	wall := time.Now()
	trans := sc.Transitions()
	W, H := sc.Size()
	now := time.Duration(0)
	step := func(to time.Duration) {
		if fake != nil {
			fake.Advance(to - now)
		} else if d := time.Until(start.Add(to)); d > 0 {
			time.Sleep(d)
		}
		now = to
	}
	for i := range sc.Frames() {
		if ctx.Err() != nil {
			break
		}
		at := sc.FrameTime(i)
		step(at)
		for len(trans) > 0 && trans[0].At <= at {
			tr := trans[0]
			trans = trans[1:]
			l.Signal(lane.Signal{Source: tr.Input, Kind: lane.Level, Active: tr.Active, Time: start.Add(tr.At)})
		}
		for _, cam := range sc.Cameras() {
			var f *frame.Frame
			if cfg.Render {
				f = sc.Render(cam, i)
			} else {
				f = &frame.Frame{Camera: cam, Seq: uint64(i + 1), Width: W, Height: H}
			}
			f.Time = start.Add(at)
			l.Offer(f)
		}
		if cfg.Lockstep {
			l.Sync(ctx)
		}
	}
	// Let margins and decisions run out.
	for k := 1; k <= 4*sc.FPS() && ctx.Err() == nil; k++ {
		step(now + time.Second/time.Duration(sc.FPS()))
		if cfg.Lockstep {
			l.Sync(ctx)
		}
		if st := l.Stats(); st.Open == 0 && k > 2*sc.FPS() {
			break
		}
	}
	cancel()
	wg.Wait()
	if runErr != nil {
		return nil, runErr
	}
	rep := score(sc, sink.Summaries(), start)
	rep.Stats = l.Stats()
	for _, c := range rep.Stats.Cameras {
		rep.Skipped += c.Skipped
		rep.Analysed += c.Analysed
	}
	rep.Frames = sc.Frames()
	rep.Wall = time.Since(wall)
	return rep, nil
}

func score(sc *passgen.Scenario, sums []*summary.Transaction, start time.Time) *Report {
	vs := sc.Vehicles()
	byVehicle := make([][]*summary.Transaction, len(vs))
	rep := &Report{}
	for _, s := range sums {
		at := s.DetectedAt.Sub(start)
		best, bestD := -1, time.Duration(1<<62)
		for i, v := range vs {
			if at < v.Enter-time.Second || at > v.Exit {
				continue
			}
			if d := absDur(at - v.Arrive); d < bestD {
				best, bestD = i, d
			}
		}
		if best < 0 {
			rep.Phantoms++
			continue
		}
		byVehicle[best] = append(byVehicle[best], s)
	}
	per := map[string]*VariantReport{}
	all := &VariantReport{Variant: "all", UnusableReasons: map[string]int{}}
	for i, v := range vs {
		vr := per[string(v.Variant)]
		if vr == nil {
			vr = &VariantReport{Variant: string(v.Variant), UnusableReasons: map[string]int{}}
			per[string(v.Variant)] = vr
		}
		for _, r := range []*VariantReport{vr, all} {
			addVehicle(r, v, byVehicle[i])
		}
	}
	for _, r := range per {
		finish(r)
		rep.ByVariant = append(rep.ByVariant, *r)
	}
	sort.Slice(rep.ByVariant, func(i, j int) bool { return rep.ByVariant[i].Variant < rep.ByVariant[j].Variant })
	finish(all)
	rep.Overall = *all
	return rep
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func addVehicle(r *VariantReport, v passgen.VehicleTruth, sums []*summary.Transaction) {
	r.Vehicles++
	r.Summaries += len(sums)
	if len(sums) == 1 {
		r.ExactlyOne++
	}
	r.Occupants += len(v.Occupants)
	enrolled := map[string]bool{}
	for _, o := range v.Occupants {
		if o.Enrolled {
			enrolled[o.ID] = true
			r.Enrolled++
		} else {
			r.Strangers++
		}
	}
	usable := 0
	matched := map[string]bool{}
	for _, s := range sums {
		r.MeanCaptureMs += s.Latency.Capture
		r.MeanDecisionMs += s.Latency.Total - s.Latency.Capture
		for _, o := range s.Occupants {
			switch o.Decision {
			case summary.NoUsableImage:
				r.UnusableReasons[string(o.Reason)]++
				continue
			case summary.Match:
				if enrolled[o.SubjectID] {
					matched[o.SubjectID] = true
				} else {
					r.FalseMatches++
				}
			case summary.Candidate:
				r.Candidates++
			}
			usable++
		}
	}
	r.Usable += min(usable, len(v.Occupants))
	reported := 0
	for _, s := range sums {
		reported += len(s.Occupants)
	}
	r.Extra += max(0, reported-len(v.Occupants))
	r.Missed += max(0, len(v.Occupants)-reported)
	r.Correct += len(matched)
}

func finish(r *VariantReport) {
	pct := func(a, b int) float64 {
		if b == 0 {
			return 100
		}
		return 100 * float64(a) / float64(b)
	}
	r.UsablePct = pct(r.Usable, r.Occupants)
	r.CorrectPct = pct(r.Correct, r.Enrolled)
	if r.Strangers > 0 {
		r.StrangerPct = 100 * float64(r.FalseMatches) / float64(r.Strangers)
	}
	if r.Summaries > 0 {
		r.MeanCaptureMs /= float64(r.Summaries)
		r.MeanDecisionMs /= float64(r.Summaries)
	}
}

// WriteTable prints the report as a Markdown table.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintln(w, "| variant | vehicles | summaries | exactly one | occupants | extra | missed | usable % | enrolled | correct % | strangers | false matches | stranger-match % | candidates |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, v := range append(append([]VariantReport(nil), r.ByVariant...), r.Overall) {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %.1f | %d | %.1f | %d | %d | %.1f | %d |\n", v.Variant, v.Vehicles, v.Summaries,
			v.ExactlyOne, v.Occupants, v.Extra, v.Missed, v.UsablePct, v.Enrolled, v.CorrectPct, v.Strangers, v.FalseMatches, v.StrangerPct, v.Candidates)
	}
	var reasons []string
	for k, n := range r.Overall.UnusableReasons {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(reasons)
	fmt.Fprintf(w, "\nphantom summaries %d; frames %d per camera, analysed %d, skipped %d; unusable reasons: %s; wall %s\n",
		r.Phantoms, r.Frames, r.Analysed, r.Skipped, strings.Join(reasons, " "), r.Wall.Round(time.Millisecond))
}
