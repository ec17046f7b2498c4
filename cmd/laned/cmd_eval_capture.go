package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/eval/capture"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/quality"
)

func init() {
	register(&command{
		Name:  "eval capture",
		Short: "recognition on booth-like probes made from an identity set: size, dark, glare, motion blur, MJPEG, windshield",
		Usage: "--dataset DIR [--levels moderate|sweep|all] [--threshold D] [--engine onednn|opencv] [--save-frames DIR] [--json]",
		Setup: func(fs *flag.FlagSet) runFunc {
			dataset := fs.String("dataset", "", "data set: one folder per identity, images sorted by name; the first is enrolled clean")
			levels := fs.String("levels", "moderate", "variants: moderate (what a booth must handle), sweep (harsher, to find where it breaks) or all")
			threshold := fs.Float64("threshold", pipeline.DefaultThreshold, "largest template distance that counts as a match")
			engine := fs.String("engine", "", "inference engine for both nets: onednn (default) or opencv (the reference)")
			save := fs.String("save-frames", "", "write every rendered probe as PNG under this folder (for a look; off by default)")
			asJSON := fs.Bool("json", false, "print one JSON object: {threshold, variants: [...]}")
			only := fs.String("only", "", "comma-separated variant names to keep (default: every variant of --levels)")
			gatesOff := fs.Bool("gates-off", false, "open the quality gates (calibration: what would matching do without them)")
			return func(ctx context.Context, e *env, args []string) error {
				if _, err := embed.ParseEngine(*engine); err != nil {
					return usageErrorf("--engine: %v", err)
				}
				if *dataset == "" || len(args) > 0 {
					return usageErrorf("need --dataset DIR and no other arguments")
				}
				var vs []capture.Variant
				switch *levels {
				case "moderate":
					vs = capture.Moderate()
				case "sweep":
					vs = capture.Sweep()
				case "all":
					vs = append(capture.Moderate(), capture.Sweep()...)
				default:
					return usageErrorf("--levels %q: want moderate, sweep or all", *levels)
				}
				if *only != "" {
					keep := map[string]bool{}
					for _, n := range strings.Split(*only, ",") {
						keep[strings.TrimSpace(n)] = true
					}
					var kept []capture.Variant
					for _, v := range vs {
						if keep[v.Name] {
							kept = append(kept, v)
						}
					}
					if len(kept) == 0 {
						return usageErrorf("--only %q: no such variant in --levels %s", *only, *levels)
					}
					vs = kept
				}
				var th quality.Thresholds
				if *gatesOff {
					th = quality.Thresholds{MinEyeDistance: 8, MinSharpness: 1e-3, MinBrightness: 1e-3, MaxBrightness: 255, MaxClipped: 1, MaxYaw: 90}
				}
				return runEvalCapture(e, *dataset, vs, *threshold, *engine, th, *save, *asJSON)
			}
		},
	})
}

// captureEncoder is the pipeline with enrolment refusals mapped onto the
// evaluation's sentinel.
type captureEncoder struct{ *pipeline.Pipeline }

func (c captureEncoder) EnrollFile(path string) (vision.Embedding, error) {
	return evalEncoder{c.Pipeline}.EnrollFile(path)
}

func runEvalCapture(e *env, dataset string, vs []capture.Variant, threshold float64, engine string, th quality.Thresholds, save string, asJSON bool) error {
	ids, err := eval.LoadIdentities(dataset)
	if err != nil {
		return err
	}
	p, err := openPipelineWith(engine, th, true) // as the lane runs it
	if err != nil {
		return err
	}
	defer p.Close()
	res, err := capture.Evaluate(ids, captureEncoder{p}, buildGallery, vs, capture.Options{Threshold: threshold, SaveDir: save})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.Stdout).Encode(struct {
			Dataset   string           `json:"dataset"`
			Threshold float64          `json:"threshold"`
			Variants  []capture.Result `json:"variants"`
		}{dataset, threshold, res})
	}
	w := e.Stdout
	fmt.Fprintf(w, "%-12s %6s %7s %7s %7s %7s %6s  %-28s %s\n", "variant", "probes", "usable", "rank1", "fnir", "fpir", "fta", "unusable", "fnmr after discarding 0/10/30% lowest score")
	for _, r := range res {
		var why []string
		for v, n := range r.Verdicts {
			why = append(why, fmt.Sprintf("%s %d", v, n))
		}
		sort.Strings(why)
		var edc []string
		for _, pt := range r.EDC {
			if pt.Discarded == 0 || pt.Discarded == 0.1 || pt.Discarded == 0.3 {
				edc = append(edc, fmt.Sprintf("%.3f", pt.FNMR))
			}
		}
		fmt.Fprintf(w, "%-12s %6d %7.3f %7.3f %7.3f %7.3f %6.3f  %-28s %s\n", r.Variant.Name, r.Probes, r.Usable, r.Rank1, r.FNIR, r.FPIR, r.FTA,
			strings.Join(why, ", "), strings.Join(edc, " "))
	}
	return nil
}
