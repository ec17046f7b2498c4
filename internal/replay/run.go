package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/trigger"
)

// Options are one `laned replay`.
type Options struct {
	// Config supplies the lane's identity, the transactions: section, the
	// camera names (cameras[i] names the i-th --frames folder) and the
	// video triggers; the zero Config means the documented defaults.
	Config config.Config
	Frames []string // one folder per camera, in order
	FPS    float64  // default 15
	// Sensors is a sensors.csv; empty: the video trigger opens vehicles.
	Sensors  string
	Analyzer lane.Analyzer
	Gallery  lane.Gallery
	Decoder  camera.Decoder // JPEG decoder for the frame folders; nil: Go's
	Emit     func(stamped []byte) error
	Start    time.Time // capture time of frame 0; zero: now
	Log      *slog.Logger
}

// Result says what a replay did.
type Result struct {
	Feed  FeedStats
	Lane  lane.Stats
	Cams  []camera.Health
	Start time.Time
}

// CameraName is the name of the i-th --frames folder: cameras[i].name of
// the configuration, else cam1, cam2, …
func CameraName(cfg config.Config, i int) string {
	if i < len(cfg.Cameras) && cfg.Cameras[i].Name != "" {
		return cfg.Cameras[i].Name
	}
	return fmt.Sprintf("cam%d", i+1)
}

// LaneConfig is the lane's configuration for a replay of n cameras: the
// transactions: section with its zones for those cameras, on the loops
// with sensors, else on the video trigger.
func LaneConfig(cfg config.Config, n int, sensors bool) lane.Config {
	lc := cfg.Engine
	zones := map[string]lane.CameraConfig{}
	for _, c := range lc.Cameras {
		zones[c.Name] = c
	}
	lc.Cameras = nil
	for i := range n {
		name := CameraName(cfg, i)
		c, ok := zones[name]
		if !ok {
			c = lane.CameraConfig{Name: name}
		}
		lc.Cameras = append(lc.Cameras, c)
	}
	lc.Trigger = lane.TriggerVideo
	if sensors {
		lc.Trigger = lane.TriggerLoop
	}
	return lc.WithDefaults()
}

// Run replays opt.Frames (and opt.Sensors) through a lane as fast as the
// analyzer allows and emits each vehicle's stamped summary.
func Run(ctx context.Context, opt Options) (Result, error) {
	var res Result
	if len(opt.Frames) == 0 {
		return res, errors.New("replay: no --frames folder")
	}
	if opt.FPS == 0 {
		opt.FPS = 15
	}
	if opt.FPS < 0.1 || opt.FPS > 1000 {
		return res, fmt.Errorf("replay: --fps %v out of range [0.1, 1000]", opt.FPS)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	cfg := opt.Config
	if cfg.Site == "" {
		cfg.Site = "replay"
	}
	if cfg.Lane == "" {
		cfg.Lane = "replay"
	}
	if opt.Start.IsZero() {
		opt.Start = time.Now().UTC().Truncate(time.Millisecond)
	}
	res.Start = opt.Start
	clk := clock.NewFake(opt.Start)
	var ts []sensor.Transition
	if opt.Sensors != "" {
		f, err := os.Open(opt.Sensors)
		if err != nil {
			return res, fmt.Errorf("--sensors: %w", err)
		}
		ts, err = sensor.ParseCSV(f, opt.Start)
		f.Close()
		if err != nil {
			return res, fmt.Errorf("--sensors %s: %w", opt.Sensors, err)
		}
	}
	lc := LaneConfig(cfg, len(opt.Frames), opt.Sensors != "")
	l, err := lane.New(lc, lane.Deps{Site: cfg.Site, Lane: cfg.Lane, Analyzer: opt.Analyzer, Gallery: opt.Gallery,
		Sink: &Sink{Emit: opt.Emit}, Clock: clk, Logger: opt.Log})
	if err != nil {
		return res, err
	}
	var trigs []*trigger.Trigger
	if opt.Sensors == "" {
		tcs := cfg.Triggers
		if len(tcs) == 0 {
			tcs = []trigger.Config{{Name: lc.VideoInput, Camera: lc.Cameras[0].Name}}
		}
		for _, tc := range tcs {
			t, err := trigger.New(tc.WithDefaults())
			if err != nil {
				return res, err
			}
			trigs = append(trigs, t)
		}
	}
	var players []*camera.Player
	var frames []Frames
	defer func() {
		for _, p := range players {
			p.Close()
		}
	}()
	for i, dir := range opt.Frames {
		p, err := camera.NewDir(camera.Config{Name: lc.Cameras[i].Name, Replay: dir, FPS: opt.FPS, Key: fmt.Sprintf("--frames[%d]", i)},
			camera.ReplayOptions{Clock: clk, Log: opt.Log, Decoder: opt.Decoder, Start: opt.Start})
		if err != nil {
			return res, err
		}
		players = append(players, p)
		frames = append(frames, p)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, len(players)+1)
	for _, p := range players {
		go func() { runErr <- p.Run(rctx) }()
	}
	laneDone := make(chan error, 1)
	go func() { laneDone <- l.Run(rctx) }()
	fd := &Feeder{Lane: l, Clock: clk, Triggers: trigs, Tail: lc.PostMargin + time.Millisecond}
	res.Feed, err = fd.Feed(rctx, frames, ts)
	res.Lane = l.Stats()
	l.Close()
	if lerr := <-laneDone; err == nil {
		err = lerr
	}
	cancel()
	for range players {
		if perr := <-runErr; err == nil && perr != nil {
			err = perr
		}
	}
	for _, p := range players {
		res.Cams = append(res.Cams, p.Health())
	}
	res.Lane = l.Stats()
	return res, err
}
