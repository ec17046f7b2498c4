package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/pipeline"
)

func init() {
	register(&command{
		Name:  "eval recognition",
		Short: "rank-1, FNIR and FPIR at the default threshold, FTA and FTE, on a folder-per-identity data set",
		Usage: "--dataset DIR [--enroll N] [--threshold D] [--engine onednn|opencv] [--json]",
		Setup: func(fs *flag.FlagSet) runFunc {
			dataset := fs.String("dataset", "", "data set: one folder per identity, images sorted by name")
			enroll := fs.Int("enroll", 1, "images enrolled per identity (the first by name)")
			threshold := fs.Float64("threshold", pipeline.DefaultThreshold, "largest template distance that counts as a match")
			asJSON := fs.Bool("json", false, "print the figures as one JSON object")
			engine := fs.String("engine", "", "inference engine for both nets: onednn (default) or opencv (the reference)")
			return func(ctx context.Context, e *env, args []string) error {
				if _, err := embed.ParseEngine(*engine); err != nil {
					return usageErrorf("--engine: %v", err)
				}
				if *dataset == "" || len(args) > 0 {
					return usageErrorf("need --dataset DIR and no other arguments")
				}
				if *enroll < 1 {
					return usageErrorf("--enroll must be at least 1")
				}
				return runEvalRecognition(e, *dataset, *enroll, *threshold, *engine, *asJSON)
			}
		},
	})
}

// evalEncoder maps the pipeline's refusals onto the evaluation's
// failure-to-acquire sentinel.
type evalEncoder struct{ p *pipeline.Pipeline }

func (a evalEncoder) EnrollFile(path string) (vision.Embedding, error) {
	return fta(a.p.EnrollFile(path))
}
func (a evalEncoder) ProbeFile(path string) (vision.Embedding, error) {
	return fta(a.p.ProbeFile(path))
}

func fta(emb vision.Embedding, err error) (vision.Embedding, error) {
	if errors.Is(err, pipeline.ErrNoUsableFace) {
		return nil, fmt.Errorf("%w: %v", eval.ErrNoUsableFace, err)
	}
	return emb, err
}

func runEvalRecognition(e *env, dataset string, enroll int, threshold float64, engine string, asJSON bool) error {
	ids, err := eval.LoadIdentities(dataset)
	if err != nil {
		return err
	}
	p, err := openPipeline(engine)
	if err != nil {
		return err
	}
	defer p.Close()
	res, err := eval.EvaluateRecognition(ids, evalEncoder{p}, buildGallery, eval.RecognitionOptions{Enroll: enroll, Threshold: threshold})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.Stdout).Encode(res)
	}
	w := e.Stdout
	fmt.Fprintf(w, "identities %d, enrolled %d, mated probes %d, non-mated searches %d\n", res.Identities, res.Enrolled, res.Probes, res.NonMatedSearches)
	fmt.Fprintf(w, "rank1 %.4f\nthreshold %.3f: fnir %.4f, fpir %.4f\nfta %.4f (%d)\nfte %.4f (%d)\nms per probe (median) %.1f\n",
		res.Rank1, res.Threshold, res.FNIR, res.FPIR, res.FTA, res.FTACount, res.FTE, res.FTECount, res.MsPerProbe)
	if g, i := res.GenuineDistances, res.ImpostorDistances; len(g) > 0 && len(i) > 0 {
		sort.Slice(g, func(a, b int) bool { return g[a] < g[b] })
		sort.Slice(i, func(a, b int) bool { return i[a] < i[b] })
		fmt.Fprintf(w, "genuine distance max %.3f, impostor distance min %.3f\n", g[len(g)-1], i[0])
	}
	for _, m := range res.EnrolFailures {
		fmt.Fprintf(w, "  %s\n", m)
	}
	for _, m := range res.Misses {
		fmt.Fprintf(w, "  miss: %s\n", m)
	}
	return nil
}
