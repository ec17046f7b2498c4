package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/imageio"
)

func init() {
	register(&command{
		Name:  "eval detection",
		Short: "measure face detection recall and precision on a dlib imglab XML file",
		Usage: "--boxes FILE.xml [--iou 0.4] [--engine onednn|opencv] [--json]",
		Setup: func(fs *flag.FlagSet) runFunc {
			boxes := fs.String("boxes", "", "dlib imglab XML with the true face boxes (image paths relative to it)")
			iou := fs.Float64("iou", 0.4, "IoU at which a detection matches a labelled face")
			asJSON := fs.Bool("json", false, "print the result as JSON")
			verbose := fs.Bool("v", false, "also print per-image figures")
			df := addDetectFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if *boxes == "" {
					return usageErrorf("--boxes is required")
				}
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				ds, err := eval.LoadImglab(*boxes)
				if err != nil {
					return err
				}
				det, err := df.open()
				if err != nil {
					return err
				}
				defer det.Close()
				res, err := eval.EvaluateDetection(ds, fileDetector{det}, *iou)
				if err != nil {
					return err
				}
				if *verbose {
					for _, ir := range res.PerImage {
						fmt.Fprintf(e.Stderr, "%s: faces %d found %d detections %d false positives %d\n",
							ir.Path, ir.Faces, ir.Found, ir.Detected, ir.FalsePositives)
					}
				}
				if *asJSON {
					enc := json.NewEncoder(e.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				_, err = fmt.Fprintf(e.Stdout,
					"images %d  faces %d  recall %.3f  precision %.3f  false positives/image %.2f  ms/image %.1f  (iou %.2f)\n",
					res.Images, res.Faces, res.Recall, res.Precision, res.FalsePositivesPerImage, res.MsPerImage, *iou)
				return err
			}
		},
	})
}

// fileDetector adapts a detector to eval.BoxDetector: load the file
// safely, detect, return the boxes.
type fileDetector struct{ d *detect.Detector }

func (f fileDetector) DetectFile(path string) ([]vision.Box, error) {
	img, err := imageio.Load(path)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	faces, err := f.d.Detect(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	boxes := make([]vision.Box, len(faces))
	for i, fc := range faces {
		boxes[i] = fc.Box
	}
	return boxes, nil
}
