package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/pipeline"
)

func init() {
	register(&command{
		Name:  "eval verification",
		Short: "1:1 accuracy, TAR and FAR at the default threshold, FTA, on a list of labelled image pairs",
		Usage: "--pairs FILE.csv [--threshold D] [--engine onednn|opencv] [--json]",
		Setup: func(fs *flag.FlagSet) runFunc {
			pairsFile := fs.String("pairs", "", "CSV with the header image_a,image_b,same (paths relative to the CSV, same 1 or 0)")
			threshold := fs.Float64("threshold", pipeline.DefaultThreshold, "largest template distance that counts as the same person")
			asJSON := fs.Bool("json", false, "print the figures as one JSON object")
			engine := fs.String("engine", "", "inference engine for both nets: onednn (default) or opencv (the reference)")
			return func(ctx context.Context, e *env, args []string) error {
				if _, err := embed.ParseEngine(*engine); err != nil {
					return usageErrorf("--engine: %v", err)
				}
				if *pairsFile == "" || len(args) > 0 {
					return usageErrorf("need --pairs FILE.csv and no other arguments")
				}
				if !(*threshold > 0) {
					return usageErrorf("--threshold must be positive")
				}
				return runEvalVerification(e, *pairsFile, *threshold, *engine, *asJSON)
			}
		},
	})
}

func runEvalVerification(e *env, pairsFile string, threshold float64, engine string, asJSON bool) error {
	pairs, err := eval.LoadPairs(pairsFile)
	if err != nil {
		return err
	}
	p, err := openPipeline(engine)
	if err != nil {
		return err
	}
	defer p.Close()
	res, err := eval.EvaluateVerification(pairs, evalEncoder{p}, threshold)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.Stdout).Encode(res)
	}
	w := e.Stdout
	fmt.Fprintf(w, "pairs %d (%d genuine, %d impostor), %d images\n", res.Pairs, res.Genuine, res.Impostor, res.Images)
	fmt.Fprintf(w, "threshold %.3f: accuracy %.4f, tar %.4f, far %.4f\nfta %.4f (%d pairs)\nms per pair (median) %.1f\n",
		res.Threshold, res.Accuracy, res.TAR, res.FAR, res.FTA, res.FTAPairs, res.MsPerPair)
	fmt.Fprintf(w, "best threshold on this list %.3f: accuracy %.4f (for reference: a threshold chosen on a list does not carry to others)\n", res.BestThreshold, res.BestAccuracy)
	if g, i := res.GenuineDistances, res.ImpostorDistances; len(g) > 0 && len(i) > 0 {
		sort.Slice(g, func(a, b int) bool { return g[a] < g[b] })
		sort.Slice(i, func(a, b int) bool { return i[a] < i[b] })
		fmt.Fprintf(w, "genuine distance median %.3f max %.3f; impostor distance min %.3f median %.3f\n", g[len(g)/2], g[len(g)-1], i[0], i[len(i)/2])
	}
	for _, f := range res.FTAImages {
		fmt.Fprintf(w, "  failure to acquire: %s\n", f)
	}
	for _, m := range res.Errors {
		fmt.Fprintf(w, "  error: %s\n", m)
	}
	return nil
}
