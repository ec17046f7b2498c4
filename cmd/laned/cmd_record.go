package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/record"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/vision/mjpeg"
	"github.com/laned/laned/internal/vision/videoreplay"
)

func init() {
	register(&command{
		Name:  "record",
		Short: "record a pass: every camera's frames and the sensor transitions, for exact replay",
		Usage: "--config FILE --out DIR [--seconds N] [--firmware DIR]",
		Setup: func(fs *flag.FlagSet) runFunc {
			cfgPath := fs.String("config", "", "YAML with cameras: and sensors: sections")
			out := fs.String("out", "", "new folder for the recording")
			seconds := fs.Float64("seconds", 0, "stop after N seconds (0: at Ctrl-C, or when every replayed camera ends)")
			firmware := fs.String("firmware", "firmware-config", "folder with cameras/ and boards/ profiles")
			return func(ctx context.Context, e *env, args []string) error {
				if *cfgPath == "" || *out == "" || len(args) > 0 || *seconds < 0 {
					return usageErrorf("--config and --out are required")
				}
				return runRecord(ctx, e, *cfgPath, *out, *firmware, time.Duration(*seconds*float64(time.Second)))
			}
		},
	})
}

// recordConfig is the part of laned's configuration laned record reads:
// the cameras: and sensors: sections (camera.Config, sensor.Config).
type recordConfig struct {
	Cameras []camera.Config `yaml:"cameras"`
	Sensors sensor.Config   `yaml:"sensors"`
}

// loadRecordConfig reads path strictly (unknown keys are errors), merges
// the camera and board profiles and validates every section.
func loadRecordConfig(path, firmware string) (recordConfig, error) {
	var c recordConfig
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Cameras) == 0 && len(c.Sensors.Inputs) == 0 && c.Sensors.Board == "" {
		return c, fmt.Errorf("%s: nothing to record: no cameras and no sensors", path)
	}
	var errs []error
	for i, cam := range c.Cameras {
		if cam.Profile == "" {
			continue
		}
		p, err := camera.LoadProfile(firmware+"/cameras", cam.Profile)
		if err != nil {
			errs = append(errs, fmt.Errorf("cameras[%d].profile: %w", i, err))
			continue
		}
		c.Cameras[i] = cam.WithProfile(p)
	}
	if c.Cameras, err = camera.ValidateAll(c.Cameras); err != nil {
		errs = append(errs, err)
	}
	if c.Sensors.Board != "" {
		b, err := sensor.LoadBoard(firmware+"/boards", c.Sensors.Board)
		if err != nil {
			errs = append(errs, fmt.Errorf("sensors.board: %w", err))
		} else {
			c.Sensors = c.Sensors.WithBoard(b)
		}
	}
	c.Sensors = c.Sensors.WithDefaults()
	if err := c.Sensors.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%s:\n%w", path, err)
	}
	return c, nil
}

func runRecord(ctx context.Context, e *env, cfgPath, out, firmware string, d time.Duration) error {
	cfg, err := loadRecordConfig(cfgPath, firmware)
	if err != nil {
		return err
	}
	log := e.Log.With("component", "record")
	var rec *record.Recorder // set before any source runs
	var cams []record.Camera
	names := make([]string, 0, len(cfg.Cameras))
	closeAll := func() {
		for _, c := range cams {
			c.Source.Close()
		}
	}
	dec := &mjpeg.Decoder{}
	for _, c := range cfg.Cameras {
		names = append(names, c.Name)
		var src camera.Source
		raw := false
		switch {
		case c.Replay != "":
			st, err := os.Stat(c.Replay)
			switch {
			case err != nil:
				err = &camera.FieldError{Key: c.Key + ".replay", Camera: c.Name, Device: c.Replay, Msg: err.Error()}
			case st.IsDir():
				src, err = camera.NewDir(c, camera.ReplayOptions{Log: e.Log, Decoder: dec})
			default:
				src, err = videoreplay.Open(c, camera.ReplayOptions{Log: e.Log})
			}
			if err != nil {
				closeAll()
				return err
			}
		default:
			raw = true
			src, err = camera.NewV4L2(c, camera.V4L2Options{Log: e.Log, Decoder: dec,
				OnRaw: func(f *frame.Frame, b []byte, format camera.Format) {
					if err := rec.RawFrame(f, b, format); err != nil {
						log.Error("record frame", "camera", f.Camera, "err", err)
					}
				}})
			if err != nil {
				closeAll()
				return err
			}
		}
		cams = append(cams, record.Camera{Source: src, Raw: raw})
	}
	var runners []record.Runner
	var bank *sensor.Bank
	if len(cfg.Sensors.Inputs) > 0 {
		lines, err := sensor.OpenChardev()
		if err != nil {
			closeAll()
			return err
		}
		bank, err = sensor.NewBank(cfg.Sensors, lines, sensor.Options{Log: e.Log,
			OnTransition: func(t sensor.Transition) { rec.Transition(t) }})
		if err != nil {
			closeAll()
			return err
		}
		defer bank.Close()
		runners = append(runners, bank)
	}
	start := clock.Real{}.Now()
	rec, err = record.New(out, names, start)
	if err != nil {
		closeAll()
		return err
	}
	log.Info("recording", "out", out, "cameras", strings.Join(names, ","), "inputs", len(cfg.Sensors.Inputs), "limit", d)
	sum, err := record.Run(ctx, rec, cams, runners, d, log)
	keys := make([]string, 0, len(sum.Frames))
	for k := range sum.Frames {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d frames", k, sum.Frames[k]))
	}
	parts = append(parts, fmt.Sprintf("%d sensor transitions", sum.Transitions))
	fmt.Fprintf(e.Stdout, "recorded %s: %s\n", out, strings.Join(parts, ", "))
	return err
}
