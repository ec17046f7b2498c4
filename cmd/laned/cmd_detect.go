package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/quality"
)

func init() {
	register(&command{
		Name:  "detect",
		Short: "find faces in image files and judge their quality",
		Usage: "[--json] IMAGE...",
		Setup: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print one JSON object per image")
			df := addDetectFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) == 0 {
					return usageErrorf("no image given")
				}
				det, err := df.open()
				if err != nil {
					return err
				}
				defer det.Close()
				failed := 0
				for _, path := range args {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r := detectFile(det, path)
					if r.Error != "" {
						failed++
					}
					if *asJSON {
						if r.Error != "" {
							e.Log.Error("detect", "image", path, "err", r.Error)
						}
						if err := json.NewEncoder(e.Stdout).Encode(r); err != nil {
							return err
						}
						continue
					}
					printDetectResult(e, r)
				}
				if failed > 0 {
					return fmt.Errorf("%d of %d images failed", failed, len(args))
				}
				return nil
			}
		},
	})
}

// detectFlags are the detector settings shared by detect and eval detection.
type detectFlags struct {
	models   *string
	model    *string
	minScore *float64
	minFace  *int
	maxTiles *int
	engine   *string
}

func addDetectFlags(fs *flag.FlagSet) *detectFlags {
	return &detectFlags{
		models:   fs.String("models", "", "model cache directory (default $LANED_MODEL_DIR, else models/cache of this checkout)"),
		model:    fs.String("model", string(detect.Back), "BlazeFace variant: back (256 px, far faces) or front (128 px)"),
		minScore: fs.Float64("min-score", detect.DefaultMinScore, "lowest face confidence reported"),
		minFace:  fs.Int("min-face", detect.DefaultMinFace, "smallest face side in pixels to search for (adds tiles on large images); -1: full-frame pass only"),
		maxTiles: fs.Int("max-tiles", 16, "most tiles per image"),
		engine:   fs.String("engine", "", "inference engine: onednn (default) or opencv (the reference)"),
	}
}

func (f *detectFlags) open() (*detect.Detector, error) {
	dir := *f.models
	if dir == "" {
		var err error
		if dir, err = models.Dir(); err != nil {
			return nil, err
		}
	}
	eng, err := vision.ParseEngine(*f.engine)
	if err != nil {
		return nil, usageErrorf("--engine: %v", err)
	}
	return detect.Open(dir, detect.Options{
		Model:    detect.Model(*f.model),
		MinScore: float32(*f.minScore),
		MinFace:  *f.minFace,
		MaxTiles: *f.maxTiles,
		Engine:   eng,
	})
}

type detectResult struct {
	Image  string       `json:"image"`
	Width  int          `json:"width,omitempty"`
	Height int          `json:"height,omitempty"`
	Faces  []faceResult `json:"faces"`
	Error  string       `json:"error,omitempty"`
}

type faceResult struct {
	Box         [4]int         `json:"box"` // x, y, width, height
	Score       float32        `json:"score"`
	EyeDistance float32        `json:"eye_distance"`
	Landmarks   [][2]float32   `json:"landmarks"` // right eye, left eye, nose, mouth, right ear, left ear
	Quality     quality.Report `json:"quality"`
}

func detectFile(det *detect.Detector, path string) detectResult {
	r := detectResult{Image: path, Faces: []faceResult{}}
	img, err := imageio.Load(path)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer img.Close()
	r.Width, r.Height = img.Cols(), img.Rows()
	faces, err := det.Detect(img)
	if err != nil {
		r.Error = fmt.Sprintf("%s: %v", path, err)
		return r
	}
	for _, f := range faces {
		fr := faceResult{
			Box:         [4]int{int(f.Box.X0), int(f.Box.Y0), int(f.Box.W() + 0.5), int(f.Box.H() + 0.5)},
			Score:       f.Score,
			EyeDistance: f.EyeDistance(),
		}
		for _, p := range f.Landmarks {
			fr.Landmarks = append(fr.Landmarks, [2]float32{p.X, p.Y})
		}
		if fr.Quality, err = quality.Assess(img, f, quality.Thresholds{}); err != nil {
			r.Error = fmt.Sprintf("%s: %v", path, err)
			return r
		}
		r.Faces = append(r.Faces, fr)
	}
	return r
}

func printDetectResult(e *env, r detectResult) {
	if r.Error != "" {
		fmt.Fprintf(e.Stdout, "%s: error: %s\n", r.Image, r.Error)
		return
	}
	fmt.Fprintf(e.Stdout, "%s: %dx%d, %d face(s)\n", r.Image, r.Width, r.Height, len(r.Faces))
	for i, f := range r.Faces {
		q := f.Quality
		verdict := "usable"
		if !q.Usable {
			verdict = "unusable: " + q.Reason
		}
		fmt.Fprintf(e.Stdout, "  face %d: box %d,%d %dx%d  score %.2f  eyes %.0f px  sharpness %.0f  brightness %.0f  yaw %+.0f°  %s\n",
			i+1, f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score, f.EyeDistance, q.Sharpness, q.Brightness, q.Yaw, verdict)
	}
}
