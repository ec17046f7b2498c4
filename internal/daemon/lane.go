package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/metrics"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/trigger"
)

// Drivers are the lane's hardware seams: the booth's drivers (package
// daemon/booth) or fakes in an end-to-end test.
type Drivers struct {
	// OpenCamera opens the source of one cameras: entry (V4L2 device or
	// replayed recording). Required when the configuration has cameras.
	OpenCamera func(camera.Config) (camera.Source, error)
	// Lines are the GPIO lines of sensors.inputs (sensor.OpenChardev on a
	// booth, sensortest in tests); nil with no inputs configured.
	Lines sensor.Lines
	// Analyzer is the inference worker's lane client; Worker, if set, is
	// the worker itself, run before the lane and stopped after it.
	Analyzer lane.Analyzer
	Worker   Component
	// Start is when replayed recordings (cameras' replay:, replay.sensors)
	// begin; zero: when the lane starts.
	Start time.Time
}

// WithLane returns the Extra that builds the lane from cfg's cameras,
// sensors, triggers and transactions sections on drv: the lane engine
// over the gallery snapshot, committing summaries to the outbox, faults
// to the event emitter, camera and sensor health to the tracker.
func WithLane(cfg config.Config, drv Drivers, clk clock.Clock, log *slog.Logger) func(*Graph) (Component, error) {
	return func(g *Graph) (Component, error) { return newLaneRig(cfg, drv, g, clk, log) }
}

// laneRig runs the lane's parts in order: the worker first, then the
// lane engine, then the capture (cameras, sensors); it stops them in the
// reverse order so the open transaction is finished with its frames.
type laneRig struct {
	cfg      config.Config
	clk      clock.Clock
	log      *slog.Logger
	lane     *lane.Lane
	cams     []camera.Source
	triggers map[string][]*trigger.Trigger // by camera
	bank     *sensor.Bank
	replayed []sensor.Transition // replay.sensors, times from the start
	worker   Component
	health   *health.Tracker
	metrics  *metrics.Server // nil with metrics.address off
	start    time.Time
	once     sync.Once
}

func newLaneRig(cfg config.Config, drv Drivers, g *Graph, clk clock.Clock, log *slog.Logger) (_ *laneRig, err error) {
	if !cfg.HasLane() {
		return nil, errors.New("lane: no cameras configured")
	}
	if drv.OpenCamera == nil || drv.Analyzer == nil {
		return nil, errors.New("lane: the drivers need a camera opener and an analyzer")
	}
	if clk == nil {
		clk = clock.Real{}
	}
	r := &laneRig{cfg: cfg, clk: clk, log: log.With("component", "lane-rig"), worker: drv.Worker, health: g.Health,
		triggers: map[string][]*trigger.Trigger{}, start: drv.Start}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	ev := &laneEvents{e: g.Events, raised: map[string]map[string]bool{}}
	var sink lane.Sink = g.Outbox
	if cfg.Metrics.Address != "off" {
		if r.metrics, err = metrics.New(metrics.Options{Address: cfg.Metrics.Address, Log: log, Sources: r.metricSources(g)}); err != nil {
			return nil, err
		}
		sink = observedSink{g.Outbox, r.metrics}
	}
	if r.lane, err = lane.New(cfg.Engine, lane.Deps{Site: cfg.Site, Lane: cfg.Lane, Analyzer: drv.Analyzer,
		Gallery: laneGallery{g.Gallery}, Sink: sink, Events: ev, Clock: clk, Logger: log}); err != nil {
		return nil, err
	}
	for _, tc := range cfg.Triggers {
		t, err := trigger.New(tc)
		if err != nil {
			return nil, err
		}
		r.triggers[tc.Camera] = append(r.triggers[tc.Camera], t)
	}
	for _, cc := range cfg.Cameras {
		src, err := drv.OpenCamera(cc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cc.Key, err)
		}
		r.cams = append(r.cams, src)
	}
	if len(cfg.Sensors.Inputs) > 0 {
		if drv.Lines == nil {
			return nil, errors.New("sensors.inputs: no GPIO lines on this machine")
		}
		if r.bank, err = sensor.NewBank(cfg.Sensors, drv.Lines, sensor.Options{Clock: clk, Log: log,
			OnTransition: r.transition, OnFault: r.sensorFault}); err != nil {
			return nil, err
		}
	}
	if p := cfg.Replay.Sensors; p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("replay.sensors: %w", err)
		}
		defer f.Close()
		if r.replayed, err = sensor.ParseCSV(f, time.Time{}); err != nil {
			return nil, fmt.Errorf("replay.sensors: %s: %w", p, err)
		}
	}
	return r, nil
}

// Lane is the rig's engine (for the local API, metrics and tests).
func (r *laneRig) Lane() *lane.Lane { return r.lane }

func (r *laneRig) transition(t sensor.Transition) {
	r.lane.Signal(lane.Signal{Source: t.Input, Kind: lane.Level, Active: t.Active, Time: t.At})
}

func (r *laneRig) sensorFault(f sensor.Fault) {
	k := lane.Recovered
	if f.Raised {
		k = lane.Faulted
	}
	r.lane.Signal(lane.Signal{Source: f.Input, Kind: k, Time: f.At, Code: strings.ReplaceAll(string(f.Kind), "-", "_")})
}

// Run implements Component.
func (r *laneRig) Run(ctx context.Context) error {
	base := context.WithoutCancel(ctx)
	wctx, stopWorker := context.WithCancel(base)
	lctx, stopLane := context.WithCancel(base)
	cctx, stopCapture := context.WithCancel(base)
	defer stopWorker()
	defer stopLane()
	defer stopCapture()
	fatal := make(chan error, 2)
	var worker, engine, capture sync.WaitGroup
	if r.worker != nil {
		worker.Go(func() {
			if err := r.worker.Run(wctx); err != nil {
				fatal <- fmt.Errorf("inference worker: %w", err)
			}
		})
	}
	engine.Go(func() {
		if err := r.lane.Run(lctx); err != nil {
			fatal <- err
		}
	})
	if r.metrics != nil {
		worker.Go(func() {
			if err := r.metrics.Run(wctx); err != nil {
				fatal <- err
			}
		})
	}
	start := r.start
	if start.IsZero() {
		start = r.clk.Now()
	}
	for _, src := range r.cams {
		capture.Go(func() {
			if err := src.Run(cctx); err != nil {
				r.log.Error("camera stopped", "camera", src.Name(), "err", err)
				r.lane.Signal(lane.Signal{Source: src.Name(), Kind: lane.Faulted, Time: r.clk.Now(), Code: "failed"})
			}
		})
		capture.Go(func() { r.pump(cctx, src) })
	}
	if r.bank != nil {
		capture.Go(func() { r.bank.Run(cctx) })
	}
	if len(r.replayed) > 0 {
		ts := make([]sensor.Transition, len(r.replayed))
		for i, t := range r.replayed {
			t.At = start.Add(t.At.Sub(time.Time{}))
			ts[i] = t
		}
		capture.Go(func() { sensor.Replay(cctx, r.clk, ts, true, r.transition) })
	}
	capture.Go(func() { r.reportHealth(cctx) })
	var err error
	select {
	case <-ctx.Done():
	case err = <-fatal:
	}
	stopCapture()
	capture.Wait()
	stopLane()
	engine.Wait()
	stopWorker()
	worker.Wait()
	if err == nil {
		select {
		case err = <-fatal:
		default:
		}
	}
	return err
}

// pump moves one camera's frames to its video triggers and the lane.
func (r *laneRig) pump(ctx context.Context, src camera.Source) {
	trigs := r.triggers[src.Name()]
	for {
		f := &frame.Frame{}
		if err := src.Next(ctx, f); err != nil {
			return // ErrEnded (a replay finished) or cancelled
		}
		for _, t := range trigs {
			if tr, ok := t.Observe(f); ok {
				r.transition(tr)
			}
		}
		r.lane.Offer(f)
	}
}

// reportHealth copies camera and sensor state into the health tracker.
func (r *laneRig) reportHealth(ctx context.Context) {
	if r.health == nil {
		return
	}
	t := r.clk.NewTicker(time.Second)
	defer t.Stop()
	for {
		for _, src := range r.cams {
			h := src.Health()
			ch := summary.CameraHealth{ID: h.Camera, FPS: h.FPS, Drops: h.Drops}
			if h.State == camera.StateStalled || h.State == camera.StateUnplugged || h.State == camera.StateStopped {
				ch.Error = string(h.State)
				if h.LastError != "" {
					ch.Error += ": " + h.LastError
				}
			}
			r.health.ReportCamera(ch)
		}
		for _, in := range r.lane.Stats().Inputs {
			st := "clear"
			switch {
			case in.Fault != "":
				st = "fault"
			case in.Active:
				st = "occupied"
			}
			r.health.ReportSensor(summary.SensorHealth{ID: in.Name, State: st})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// Close releases the cameras and sensors; idempotent.
func (r *laneRig) Close() error {
	r.once.Do(func() {
		for _, c := range r.cams {
			c.Close()
		}
		if r.bank != nil {
			r.bank.Close()
		}
		if r.lane != nil {
			r.lane.Close()
		}
		if r.worker != nil {
			r.worker.Close()
		}
		if r.metrics != nil {
			r.metrics.Close()
		}
	})
	return nil
}

// Metrics is the rig's metrics server (nil when off).
func (r *laneRig) Metrics() *metrics.Server { return r.metrics }

// metricSources are the snapshots metrics read at scrape time.
func (r *laneRig) metricSources(g *Graph) metrics.Sources {
	return metrics.Sources{
		Lane: func() lane.Stats { return r.lane.Stats() },
		Cameras: func() []camera.Health {
			hs := make([]camera.Health, 0, len(r.cams))
			for _, c := range r.cams {
				hs = append(hs, c.Health())
			}
			return hs
		},
		Outbox: g.Outbox.Stats,
		Uplink: g.Uplink.Status,
		Gallery: func() metrics.GalleryInfo {
			st := g.Gallery.Status()
			return metrics.GalleryInfo{Version: st.Version, Subjects: st.Subjects, LoadedAt: st.LoadedAt, Created: st.Created}
		},
		Now: r.clk.Now,
	}
}

// observedSink commits summaries to the outbox and records their stage
// latencies once committed.
type observedSink struct {
	o *outbox.Outbox
	m *metrics.Server
}

func (s observedSink) Enqueue(ctx context.Context, kind outbox.Kind, payload []byte) (outbox.Message, error) {
	msg, err := s.o.Enqueue(ctx, kind, payload)
	if err == nil && kind == outbox.KindSummary {
		if v, derr := summary.UnmarshalUnstamped(payload); derr == nil {
			if t, ok := v.(*summary.Transaction); ok {
				s.m.ObserveSummary(t)
			}
		}
	}
	return msg, err
}

// laneGallery hands the lane the active gallery's snapshot.
type laneGallery struct{ g *active.Gallery }

func (l laneGallery) Current() lane.Snapshot { return l.g.Current() }

// laneEvents turns the lane's faults into fault events: an active fault
// is raised; a "….recovered" one resolves what its source raised.
type laneEvents struct {
	e      *events.Emitter
	mu     sync.Mutex
	raised map[string]map[string]bool // source → codes
}

func (le *laneEvents) Fault(ctx context.Context, f lane.Fault) {
	if le.e == nil {
		return
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	if f.Active {
		sev := events.Error
		if f.Severity == "warning" {
			sev = events.Warning
		}
		if le.raised[f.Source] == nil {
			le.raised[f.Source] = map[string]bool{}
		}
		le.raised[f.Source][f.Code] = true
		le.e.Raise(ctx, events.Fault{Code: f.Code, Source: f.Source, Severity: sev, Message: f.Message})
		return
	}
	for code := range le.raised[f.Source] {
		le.e.Resolve(ctx, code, f.Source, f.Message)
	}
	delete(le.raised, f.Source)
}
