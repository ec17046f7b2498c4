package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/daemon/booth"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/replay"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/mjpeg"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/worker"
)

func init() {
	register(&command{
		Name:  "replay",
		Short: "run the real lane over recorded frames and print each vehicle's summary",
		Usage: "[--config FILE] (--gallery DIR | --bundle FILE --trust PUB) --frames DIR [--frames DIR ...] [--sensors FILE.csv] [--fps N] [--json]",
		Setup: func(fs *flag.FlagSet) runFunc {
			cfgPath := fs.String("config", "", "configuration (lane identity, transactions:, camera names, triggers); default: the documented defaults")
			gallery := fs.String("gallery", "", "folder per subject (subject id = folder name), enrolled on the fly")
			bundlePath := fs.String("bundle", "", "signed gallery bundle")
			var trust, frames listFlag
			fs.Var(&trust, "trust", "public key trusted to sign --bundle (repeatable)")
			fs.Var(&frames, "frames", "folder of one camera's frames, in name order (repeat per camera)")
			sensors := fs.String("sensors", "", "sensors.csv (t_ms,input,level); without it the video trigger opens vehicles")
			fps := fs.Float64("fps", 15, "frame rate of the recordings: frame i at i×1000/fps ms")
			asJSON := fs.Bool("json", false, "print each summary as one JSON line: the payload published over MQTT")
			return func(ctx context.Context, e *env, args []string) error {
				switch {
				case len(args) > 0:
					return usageErrorf("unexpected arguments %q", args)
				case len(frames) == 0:
					return usageErrorf("need at least one --frames DIR")
				case (*gallery == "") == (*bundlePath == ""):
					return usageErrorf("need exactly one of --gallery DIR and --bundle FILE")
				case *bundlePath != "" && len(trust) == 0:
					return usageErrorf("--bundle needs --trust PUB")
				}
				return runReplay(ctx, e, *cfgPath, *gallery, *bundlePath, trust, frames, *sensors, *fps, *asJSON)
			}
		},
	})
}

func runReplay(ctx context.Context, e *env, cfgPath, galleryDir, bundlePath string, trust, frames []string, sensors string, fps float64, asJSON bool) error {
	cfg := config.Config{Site: "replay", Lane: "replay"}.WithDefaults()
	if cfgPath != "" {
		var err error
		if cfg, err = config.Load(cfgPath); err != nil {
			return err
		}
	}
	opts, err := booth.PipelineOptions(cfg.Vision)
	if err != nil {
		return err
	}
	set, err := models.OpenDefault()
	if err != nil {
		return err
	}
	p, err := pipeline.Open(set, opts)
	if err != nil {
		return err
	}
	defer p.Close()
	var g *replay.Snapshot
	if galleryDir != "" {
		// Enrolment runs before the worker owns the pipeline.
		g, err = replay.EnrolDir(ctx, galleryDir, pipeline.ModelID, pipeline.Dim, func(_ context.Context, path string) (vision.Embedding, error) {
			t, err := p.EnrollFile(path)
			if errors.Is(err, pipeline.ErrNoUsableFace) {
				return nil, fmt.Errorf("%w: %v", replay.ErrNotEnrolled, err)
			}
			return t, err
		}, func(path string, err error) { fmt.Fprintf(e.Stderr, "gallery: not enrolled: %v\n", err) })
	} else {
		g, err = replay.LoadBundle(bundlePath, trust, pipeline.ModelID, pipeline.Dim, time.Now())
	}
	if err != nil {
		return err
	}
	w, stop, err := worker.Start(p, e.Log)
	if err != nil {
		return err
	}
	defer stop()
	n := 0
	res, err := replay.Run(ctx, replay.Options{Config: cfg, Frames: frames, FPS: fps, Sensors: sensors,
		Analyzer: w.Client(worker.PriorityLane), Gallery: g, Decoder: &mjpeg.Decoder{}, Log: e.Log,
		Emit: func(b []byte) error {
			n++
			if asJSON {
				_, err := fmt.Fprintf(e.Stdout, "%s\n", b)
				return err
			}
			v, err := summary.Unmarshal(b)
			if err != nil {
				return err
			}
			printVehicle(e, v.(*summary.Transaction))
			return nil
		}})
	if !asJSON {
		fmt.Fprintf(e.Stdout, "%d vehicle(s); %s simulated in %s; gallery %s (%d subjects)\n", n,
			res.Feed.Simulated.Round(1e6), res.Feed.Wall.Round(1e6), g.Version(), g.Subjects())
		for _, c := range res.Lane.Cameras {
			fmt.Fprintf(e.Stdout, "  camera %s: %d frames, %d analysed, %d skipped, %d errors\n", c.Name, c.Offered, c.Analysed, c.Skipped, c.Errors)
		}
		for _, c := range res.Cams {
			if c.Corrupt > 0 {
				fmt.Fprintf(e.Stdout, "  camera %s: %d corrupt frames skipped\n", c.Camera, c.Corrupt)
			}
		}
	}
	return err
}

// printVehicle writes one summary as a line per vehicle and occupant.
func printVehicle(e *env, t *summary.Transaction) {
	fmt.Fprintf(e.Stdout, "%s  %s  %d occupant(s)  end %s  gallery %s\n", t.DetectedAt.Format("15:04:05.000"), t.TransactionID,
		len(t.Occupants), t.End, t.GalleryVersion)
	for _, o := range t.Occupants {
		line := fmt.Sprintf("  #%d %-15s", o.Index+1, o.Decision)
		switch {
		case o.Decision == summary.Match && o.Score != nil:
			line += fmt.Sprintf(" %s (score %.3f)", o.SubjectID, *o.Score)
		case o.Reason != "":
			line += " " + string(o.Reason)
		case o.Score != nil:
			line += fmt.Sprintf(" best score %.3f", *o.Score)
		}
		fmt.Fprintln(e.Stdout, line)
	}
	for _, f := range t.Faults {
		fmt.Fprintf(e.Stdout, "  fault %s %s\n", f.Source, f.Code)
	}
}

var _ lane.Gallery = (*replay.Snapshot)(nil)
