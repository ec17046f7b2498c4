// Package booth opens the booth's real drivers for the daemon: the face
// pipeline (OpenCV/oneDNN) behind the one inference worker, V4L2 cameras
// with the libjpeg-turbo MJPEG decoder, replayed recordings (frame folders,
// video files), and the GPIO character device. It is the only part of the
// daemon's graph that needs cgo; package daemon builds the same graph
// from fakes in its end-to-end test.
package booth

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/daemon"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/mjpeg"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/quality"
	"github.com/laned/laned/internal/vision/videoreplay"
	"github.com/laned/laned/internal/vision/worker"
)

// PipelineOptions maps the vision: section to the pipeline's options.
// The detector's own minimum (the section's default) leaves the choice to
// the pipeline, which searches no smaller than the quality gate can pass.
func PipelineOptions(v config.Vision) (pipeline.Options, error) {
	eng, err := embed.ParseEngine(v.Engine)
	if err != nil {
		return pipeline.Options{}, fmt.Errorf("vision.engine: %w", err)
	}
	q := v.Quality
	o := pipeline.Options{
		Detect: detect.Options{Engine: eng},
		Embed:  embed.Options{Engine: eng},
		Quality: quality.Thresholds{MinEyeDistance: float32(q.MinEyeDistance), MinSharpness: q.MinSharpness,
			MinBrightness: q.MinBrightness, MaxBrightness: q.MaxBrightness, MaxClipped: q.MaxClipped, MaxYaw: q.MaxYaw},
	}
	if v.DetectorMinFace != config.DefaultDetectorMinFace {
		o.Detect.MinFace = v.DetectorMinFace
	}
	return o, nil
}

// Open returns the drivers for cfg and a function that releases the
// pipeline once the daemon has stopped. Cameras are opened by the daemon
// through Drivers.OpenCamera.
func Open(cfg config.Config, clk clock.Clock, log *slog.Logger) (daemon.Drivers, func() error, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	opts, err := PipelineOptions(cfg.Vision)
	if err != nil {
		return daemon.Drivers{}, nil, err
	}
	set, err := models.OpenDefault()
	if err != nil {
		return daemon.Drivers{}, nil, err
	}
	p, err := pipeline.Open(set, opts)
	if err != nil {
		return daemon.Drivers{}, nil, err
	}
	w, err := worker.New(p, log)
	if err != nil {
		p.Close()
		return daemon.Drivers{}, nil, err
	}
	start := clk.Now()
	dec := &mjpeg.Decoder{}
	drv := daemon.Drivers{
		Analyzer: w.Client(worker.PriorityLane),
		Worker:   w,
		Start:    start,
		OpenCamera: func(c camera.Config) (camera.Source, error) {
			if c.Replay == "" {
				return camera.NewV4L2(c, camera.V4L2Options{Clock: clk, Log: log, Decoder: dec})
			}
			ro := camera.ReplayOptions{Clock: clk, Log: log, Decoder: dec, Start: start}
			st, err := os.Stat(c.Replay)
			switch {
			case err != nil:
				return nil, &camera.FieldError{Key: c.Key + ".replay", Camera: c.Name, Device: c.Replay, Msg: err.Error()}
			case st.IsDir():
				return camera.NewDir(c, ro)
			default:
				return videoreplay.Open(c, ro)
			}
		},
	}
	if len(cfg.Sensors.Inputs) > 0 {
		lines, err := sensor.OpenChardev()
		if err != nil {
			p.Close()
			return daemon.Drivers{}, nil, err
		}
		drv.Lines = lines
	}
	return drv, p.Close, nil
}
