package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink"
)

// GalleryInfo is the active gallery as metrics see it.
type GalleryInfo struct {
	Version  string
	Subjects int
	LoadedAt time.Time
	Created  time.Time
}

// Sources are the snapshots read at scrape time; nil ones are left out.
type Sources struct {
	Lane    func() lane.Stats
	Cameras func() []camera.Health
	Outbox  func() outbox.Stats
	Uplink  func() uplink.Status
	Gallery func() GalleryInfo
	Now     func() time.Time // default time.Now
}

// Options configure the metrics server.
type Options struct {
	Address string // host:port; the listener is opened by New
	Sources Sources
	Log     *slog.Logger
}

// Server is the /metrics endpoint.
type Server struct {
	reg    *prometheus.Registry
	stages *prometheus.HistogramVec
	ln     net.Listener
	srv    *http.Server
	log    *slog.Logger
	once   sync.Once
}

// StageBuckets are the per-stage latency buckets, in seconds.
var StageBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 20}

// New registers the collectors and opens the listener (an address in use
// is an error now, not at Run).
func New(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Sources.Now == nil {
		o.Sources.Now = time.Now
	}
	s := &Server{reg: prometheus.NewRegistry(), log: o.Log.With("component", "metrics")}
	s.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "laned_stage_duration_seconds",
		Help: "Per-vehicle processing time by stage (capture, detect, embed, match, total), from each summary.", Buckets: StageBuckets},
		[]string{"stage"})
	s.reg.MustRegister(s.stages, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&snapshots{src: o.Sources})
	if o.Address == "" {
		return s, nil
	}
	ln, err := net.Listen("tcp", o.Address)
	if err != nil {
		return nil, fmt.Errorf("metrics.address: %w", err)
	}
	s.ln = ln
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Addr is the listener's address (the port chosen for ":0").
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Registry is the private registry (tests, an embedding daemon).
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// ObserveSummary records a committed summary's stage latencies.
func (s *Server) ObserveSummary(t *summary.Transaction) {
	l := t.Latency
	for _, st := range []struct {
		name string
		ms   float64
	}{{"capture", l.Capture}, {"detect", l.Detect}, {"embed", l.Embed}, {"match", l.Match}, {"total", l.Total}} {
		s.stages.WithLabelValues(st.name).Observe(st.ms / 1000)
	}
}

// Run serves until ctx ends; nil then.
func (s *Server) Run(ctx context.Context) error {
	if s.srv == nil {
		<-ctx.Done()
		return nil
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("metrics: %w", err)
	}
}

// Close stops serving; idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		if s.srv != nil {
			s.srv.Close()
		} else if s.ln != nil {
			s.ln.Close()
		}
	})
	return nil
}

// snapshots is the scrape-time collector of every Source.
type snapshots struct{ src Sources }

var (
	dScrapeDur = prometheus.NewDesc("laned_scrape_collector_duration_seconds", "Time a collector took in this scrape.", []string{"collector"}, nil)
	dScrapeOK  = prometheus.NewDesc("laned_scrape_collector_success", "Whether a collector succeeded in this scrape.", []string{"collector"}, nil)

	dTx        = prometheus.NewDesc("laned_transactions_total", "Vehicles (transactions) opened.", nil, nil)
	dSummaries = prometheus.NewDesc("laned_summaries_total", "Summaries committed to the outbox.", nil, nil)
	dDecisions = prometheus.NewDesc("laned_occupants_total", "Occupants decided, by decision.", []string{"decision"}, nil)
	dLaneFault = prometheus.NewDesc("laned_lane_faults_total", "Fault events raised by the lane.", nil, nil)
	dPresent   = prometheus.NewDesc("laned_vehicle_present", "1 while a vehicle is being captured.", nil, nil)
	dVideo     = prometheus.NewDesc("laned_trigger_video", "1 while presence comes from the video trigger.", nil, nil)
	dCamFrames = prometheus.NewDesc("laned_camera_frames_total", "Frames a camera delivered.", []string{"camera"}, nil)
	dCamDrops  = prometheus.NewDesc("laned_camera_drops_total", "Frames dropped before the lane (ring overflow).", []string{"camera"}, nil)
	dCamCorr   = prometheus.NewDesc("laned_camera_corrupt_total", "Corrupt frames skipped.", []string{"camera"}, nil)
	dCamReopen = prometheus.NewDesc("laned_camera_reopens_total", "Device reopens after an unplug or stall.", []string{"camera"}, nil)
	dCamFPS    = prometheus.NewDesc("laned_camera_fps", "Measured frame rate.", []string{"camera"}, nil)
	dCamUp     = prometheus.NewDesc("laned_camera_streaming", "1 while the camera streams.", []string{"camera"}, nil)
	dSkipped   = prometheus.NewDesc("laned_lane_frames_skipped_total", "Frames replaced by a newer one before analysis during a capture.", []string{"camera"}, nil)
	dAnalysed  = prometheus.NewDesc("laned_lane_frames_analysed_total", "Frames through the analysis API.", []string{"camera"}, nil)
	dAnErrors  = prometheus.NewDesc("laned_lane_frame_errors_total", "Frames the analysis refused (corrupt…).", []string{"camera"}, nil)
	dObDepth   = prometheus.NewDesc("laned_outbox_messages", "Messages waiting in the outbox.", nil, nil)
	dObBytes   = prometheus.NewDesc("laned_outbox_bytes", "Bytes waiting in the outbox.", nil, nil)
	dObOldest  = prometheus.NewDesc("laned_outbox_oldest_age_seconds", "Age of the oldest waiting message.", nil, nil)
	dObQuar    = prometheus.NewDesc("laned_outbox_quarantined", "Messages in the quarantine.", nil, nil)
	dUpState   = prometheus.NewDesc("laned_uplink_state", "1 for the uplink's current state.", []string{"state"}, nil)
	dUpAcked   = prometheus.NewDesc("laned_uplink_acked_total", "Messages acknowledged by the broker.", nil, nil)
	dUpFlight  = prometheus.NewDesc("laned_uplink_in_flight", "Messages waiting for their PUBACK.", nil, nil)
	dGalInfo   = prometheus.NewDesc("laned_gallery_info", "The active gallery's version (label).", []string{"version"}, nil)
	dGalSubj   = prometheus.NewDesc("laned_gallery_subjects", "Subjects in the active gallery.", nil, nil)
	dGalAge    = prometheus.NewDesc("laned_gallery_age_seconds", "Since the active gallery was created (or loaded).", nil, nil)
)

func (c *snapshots) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dScrapeDur, dScrapeOK, dTx, dSummaries, dDecisions, dLaneFault, dPresent, dVideo, dCamFrames,
		dCamDrops, dCamCorr, dCamReopen, dCamFPS, dCamUp, dSkipped, dAnalysed, dAnErrors, dObDepth, dObBytes, dObOldest, dObQuar,
		dUpState, dUpAcked, dUpFlight, dGalInfo, dGalSubj, dGalAge} {
		ch <- d
	}
}

func (c *snapshots) Collect(ch chan<- prometheus.Metric) {
	run := func(name string, f func()) {
		if f == nil {
			return
		}
		start := time.Now()
		ok := 1.0
		func() {
			defer func() {
				if recover() != nil {
					ok = 0
				}
			}()
			f()
		}()
		ch <- prometheus.MustNewConstMetric(dScrapeDur, prometheus.GaugeValue, time.Since(start).Seconds(), name)
		ch <- prometheus.MustNewConstMetric(dScrapeOK, prometheus.GaugeValue, ok, name)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	s := c.src
	if s.Lane != nil {
		run("lane", func() {
			st := s.Lane()
			counter(dTx, float64(st.Transactions))
			counter(dSummaries, float64(st.Summaries))
			counter(dLaneFault, float64(st.Faults))
			gauge(dPresent, b(st.State != lane.StateIdle))
			gauge(dVideo, b(st.Trigger == lane.TriggerVideo))
			ds := make([]string, 0, len(st.Decisions))
			for d := range st.Decisions {
				ds = append(ds, d)
			}
			sort.Strings(ds)
			for _, d := range ds {
				counter(dDecisions, float64(st.Decisions[d]), d)
			}
			for _, cs := range st.Cameras {
				counter(dSkipped, float64(cs.Skipped), cs.Name)
				counter(dAnalysed, float64(cs.Analysed), cs.Name)
				counter(dAnErrors, float64(cs.Errors), cs.Name)
			}
		})
	}
	if s.Cameras != nil {
		run("cameras", func() {
			for _, h := range s.Cameras() {
				counter(dCamFrames, float64(h.Frames), h.Camera)
				counter(dCamDrops, float64(h.Drops), h.Camera)
				counter(dCamCorr, float64(h.Corrupt), h.Camera)
				counter(dCamReopen, float64(h.Reopens), h.Camera)
				gauge(dCamFPS, h.FPS, h.Camera)
				gauge(dCamUp, b(h.State == camera.StateStreaming), h.Camera)
			}
		})
	}
	if s.Outbox != nil {
		run("outbox", func() {
			st := s.Outbox()
			gauge(dObDepth, float64(st.Count))
			gauge(dObBytes, float64(st.Bytes))
			gauge(dObOldest, st.OldestAge.Seconds())
			gauge(dObQuar, float64(st.Quarantined))
		})
	}
	if s.Uplink != nil {
		run("uplink", func() {
			st := s.Uplink()
			for _, x := range []uplink.State{uplink.StateStopped, uplink.StateConnecting, uplink.StateConnected} {
				gauge(dUpState, b(st.State == x), string(x))
			}
			counter(dUpAcked, float64(st.Acked))
			gauge(dUpFlight, float64(st.InFlight))
		})
	}
	if s.Gallery != nil {
		run("gallery", func() {
			g := s.Gallery()
			gauge(dGalInfo, 1, g.Version)
			gauge(dGalSubj, float64(g.Subjects))
			ref := g.Created
			if ref.IsZero() {
				ref = g.LoadedAt
			}
			if !ref.IsZero() {
				gauge(dGalAge, s.Now().Sub(ref).Seconds())
			}
		})
	}
}
