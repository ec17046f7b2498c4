package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/pipeline"
)

func init() {
	register(&command{
		Name:  "demo",
		Short: "run the face pipeline on the sample photos: faces found, identities, annotated images",
		Usage: "[--out DIR]",
		Setup: func(fs *flag.FlagSet) runFunc {
			out := fs.String("out", "out/demo", "folder for the annotated images")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				return runDemo(ctx, e, *out)
			}
		},
	})
}

// runDemo shows the lane's face job on the group photos shipped in the
// face-api npm package. It enrols every usable face of the originals as an
// identity ("sample3 #2"), then treats a second, different capture of each
// photo (mirrored, scaled to 60% and darkened, as a different camera
// would see the same people) as the probe: every face found there is
// matched 1:N against the whole gallery. Nothing is kept but the
// annotated probe images it writes.
func runDemo(ctx context.Context, e *env, outDir string) error {
	set, err := models.OpenDefault()
	if err != nil {
		return err
	}
	var samples []string
	for i := 1; i <= 6; i++ {
		p, err := set.Path(fmt.Sprintf("face-api/demo/sample%d.jpg", i))
		if err != nil {
			return err
		}
		samples = append(samples, p)
	}
	p, err := pipeline.Open(set, pipeline.Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("create output folder: %w", err)
	}

	fmt.Fprintln(e.Stdout, "== enrolment: every usable face of the original photos becomes an identity")
	templates := map[string][]vision.Embedding{}
	for _, s := range samples {
		fr, err := p.ProcessFile(s)
		if err != nil {
			return err
		}
		name := trimExt(filepath.Base(s))
		usable := fr.Usable()
		sortLeftToRight(usable)
		for i, f := range usable {
			templates[fmt.Sprintf("%s #%d", name, i+1)] = []vision.Embedding{f.Embedding}
		}
		fmt.Fprintf(e.Stdout, "%s: %d faces found, %d enrolled (%.0f ms)\n", name, len(fr.Faces), len(usable), ms(fr.Timings.Total))
	}
	ix, err := buildIndex(templates)
	if err != nil {
		return fmt.Errorf("build gallery index: %w", err)
	}

	fmt.Fprintf(e.Stdout, "\n== identification: a second capture of each photo (mirrored, 60%%, darker) against all %d identities, threshold %.2f\n", len(templates), pipeline.DefaultThreshold)
	matched, total := 0, 0
	for _, s := range samples {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		img, err := imageio.Load(s)
		if err != nil {
			return err
		}
		probe := secondCapture(img)
		img.Close()
		fr, err := p.Process(probe)
		if err != nil {
			probe.Close()
			return fmt.Errorf("%s: %w", s, err)
		}
		name := trimExt(filepath.Base(s))
		faces := fr.Faces
		sort.SliceStable(faces, func(i, j int) bool { return faces[i].Box.X0 > faces[j].Box.X0 }) // mirrored: right to left is the original's left to right
		fmt.Fprintf(e.Stdout, "%s (second capture): %d faces, detect %.0f ms, embed %.0f ms\n", name, len(faces), ms(fr.Timings.Detect), ms(fr.Timings.Embed))
		for i, f := range faces {
			label := "no usable image: " + f.Quality.Reason
			col := color.RGBA{255, 160, 0, 0}
			if f.Embedding != nil {
				total++
				rs, err := ix.Search(f.Embedding, 1)
				if err != nil {
					probe.Close()
					return err
				}
				if len(rs) > 0 && float64(rs[0].Distance) <= pipeline.DefaultThreshold {
					matched++
					label = fmt.Sprintf("%s (d=%.2f)", rs[0].Subject, rs[0].Distance)
					col = color.RGBA{0, 200, 0, 0}
				} else {
					label = "no match"
					col = color.RGBA{0, 0, 255, 0}
				}
			}
			fmt.Fprintf(e.Stdout, "  face %d at %v: %s\n", i+1, f.Box, label)
			annotate(&probe, f.Face, label, col)
		}
		out := filepath.Join(outDir, name+"-identified.png")
		err = writeImage(out, probe)
		probe.Close()
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Stdout, "\n%d of %d usable faces in the second captures matched their identity; annotated images in %s\n", matched, total, outDir)
	return nil
}

// secondCapture mirrors img, scales it to 60% and darkens it.
func secondCapture(img gocv.Mat) gocv.Mat {
	flipped := gocv.NewMat()
	defer flipped.Close()
	gocv.Flip(img, &flipped, 1)
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(flipped, &small, image.Pt(img.Cols()*6/10, img.Rows()*6/10), 0, 0, gocv.InterpolationArea)
	out := gocv.NewMat()
	small.ConvertToWithParams(&out, gocv.MatTypeCV8UC3, 0.8, 0)
	return out
}

func annotate(img *gocv.Mat, f vision.Face, label string, col color.RGBA) {
	r := image.Rect(int(f.Box.X0), int(f.Box.Y0), int(f.Box.X1), int(f.Box.Y1))
	gocv.Rectangle(img, r, col, 2)
	for _, p := range f.Landmarks[:vision.Mouth+1] {
		gocv.Circle(img, image.Pt(int(p.X), int(p.Y)), 2, col, -1)
	}
	// OpenCV's Hershey fonts are ASCII only.
	label = strings.NewReplacer("°", " deg", "≤", "<=", "≥", ">=").Replace(label)
	gocv.PutText(img, label, image.Pt(r.Min.X, max(r.Min.Y-6, 12)), gocv.FontHersheySimplex, 0.45, col, 1)
}

func sortLeftToRight(fs []pipeline.Face) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Box.X0 < fs[j].Box.X0 })
}

func trimExt(s string) string { return s[:len(s)-len(filepath.Ext(s))] }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
