package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/quality"
)

func init() {
	register(&command{
		Name:  "identify",
		Short: "match the faces in images against a folder-per-identity gallery",
		Usage: "--gallery DIR [--threshold D] [--json] IMAGE...",
		Setup: func(fs *flag.FlagSet) runFunc {
			gallery := fs.String("gallery", "", "gallery folder: one sub-folder of enrolment photos per identity")
			threshold := fs.Float64("threshold", pipeline.DefaultThreshold, "largest template distance that counts as a match")
			asJSON := fs.Bool("json", false, "print one JSON object per image")
			return func(ctx context.Context, e *env, args []string) error {
				if *gallery == "" || len(args) == 0 {
					return usageErrorf("need --gallery DIR and at least one image")
				}
				return runIdentify(ctx, e, *gallery, *threshold, *asJSON, args)
			}
		},
	})
}

// openPipeline opens the face pipeline on the default model directory, with
// both nets on the named engine ("" for the default).
func openPipeline(engine string) (*pipeline.Pipeline, error) {
	return openPipelineWith(engine, quality.Thresholds{}, false)
}

// openPipelineWith opens the pipeline with quality gates th (zero fields:
// the defaults) and, with small, the padded view for small faces as the
// lane runs it.
func openPipelineWith(engine string, th quality.Thresholds, small bool) (*pipeline.Pipeline, error) {
	eng, err := embed.ParseEngine(engine)
	if err != nil {
		return nil, err
	}
	set, err := models.OpenDefault()
	if err != nil {
		return nil, err
	}
	return pipeline.Open(set, pipeline.Options{Detect: detect.Options{Engine: eng}, Embed: embed.Options{Engine: eng}, Quality: th, SmallFaceView: small})
}

// indexGallery adapts a match index to what the evaluations need.
type indexGallery struct{ ix *match.Index }

func (g indexGallery) Top(p vision.Embedding) (string, float32, bool, error) {
	rs, err := g.ix.Search(p, 1)
	if err != nil || len(rs) == 0 {
		return "", 0, false, err
	}
	return rs[0].Subject, rs[0].Distance, true, nil
}

func buildIndex(templates map[string][]vision.Embedding) (*match.Index, error) {
	n := 0
	for _, ts := range templates {
		n += len(ts)
	}
	b := match.NewBuilder(pipeline.Dim, n)
	for subject, ts := range templates {
		for _, t := range ts {
			if err := b.Add(subject, t); err != nil {
				return nil, err
			}
		}
	}
	return b.Build()
}

func buildGallery(templates map[string][]vision.Embedding) (eval.Gallery, error) {
	ix, err := buildIndex(templates)
	if err != nil {
		return nil, err
	}
	return indexGallery{ix}, nil
}

// enrollFolders enrols every photo of a folder-per-identity gallery.
// Photos that cannot be enrolled are listed, not silently dropped.
func enrollFolders(e *env, p *pipeline.Pipeline, dir string) (map[string][]vision.Embedding, error) {
	ids, err := eval.LoadIdentities(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]vision.Embedding{}
	for _, id := range ids {
		for _, img := range id.Images {
			emb, err := p.EnrollFile(img)
			if errors.Is(err, pipeline.ErrNoUsableFace) {
				fmt.Fprintf(e.Stderr, "gallery: not enrolled: %v\n", err)
				continue
			}
			if err != nil {
				return nil, err
			}
			out[id.Name] = append(out[id.Name], emb)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("gallery %s: no photo could be enrolled", dir)
	}
	return out, nil
}

type identifiedFace struct {
	Box      vision.Box `json:"box"`
	Score    float32    `json:"score"`
	Usable   bool       `json:"usable"`
	Reason   string     `json:"reason,omitempty"`
	Identity string     `json:"identity,omitempty"`
	Distance *float32   `json:"distance,omitempty"`
}

func runIdentify(ctx context.Context, e *env, dir string, threshold float64, asJSON bool, images []string) error {
	p, err := openPipeline("")
	if err != nil {
		return err
	}
	defer p.Close()
	templates, err := enrollFolders(e, p, dir)
	if err != nil {
		return err
	}
	ix, err := buildIndex(templates)
	if err != nil {
		return fmt.Errorf("build gallery index: %w", err)
	}
	failed := 0
	for _, img := range images {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fr, err := p.ProcessFile(img)
		if err != nil {
			fmt.Fprintf(e.Stderr, "laned identify: %v\n", err)
			failed++
			continue
		}
		faces := make([]identifiedFace, 0, len(fr.Faces))
		for _, f := range fr.Faces {
			out := identifiedFace{Box: f.Box, Score: f.Score, Usable: f.Embedding != nil, Reason: f.Quality.Reason}
			if f.Embedding != nil {
				rs, err := ix.Search(f.Embedding, 1)
				if err != nil {
					return fmt.Errorf("%s: search: %w", img, err)
				}
				if len(rs) > 0 {
					d := rs[0].Distance
					out.Distance = &d
					if float64(d) <= threshold {
						out.Identity = rs[0].Subject
					}
				}
			}
			faces = append(faces, out)
		}
		if asJSON {
			json.NewEncoder(e.Stdout).Encode(map[string]any{"image": img, "faces": faces})
			continue
		}
		fmt.Fprintf(e.Stdout, "%s: %d face(s)\n", filepath.Base(img), len(faces))
		for i, f := range faces {
			switch {
			case !f.Usable:
				fmt.Fprintf(e.Stdout, "  #%d %v  no usable image: %s\n", i+1, f.Box, f.Reason)
			case f.Identity != "":
				fmt.Fprintf(e.Stdout, "  #%d %v  match %s (distance %.3f)\n", i+1, f.Box, f.Identity, *f.Distance)
			case f.Distance != nil:
				fmt.Fprintf(e.Stdout, "  #%d %v  no match (nearest distance %.3f > %.2f)\n", i+1, f.Box, *f.Distance, threshold)
			default:
				fmt.Fprintf(e.Stdout, "  #%d %v  no match (empty gallery)\n", i+1, f.Box)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be read", failed, len(images))
	}
	return nil
}
