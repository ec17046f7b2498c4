package collect

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the collector's Prometheus metrics, on a private registry.
type metrics struct {
	reg        *prometheus.Registry
	received   *prometheus.CounterVec
	stored     *prometheus.CounterVec
	duplicates prometheus.Counter
	outOfOrder prometheus.Counter
	refused    *prometheus.CounterVec
	gapsOpened prometheus.Counter
	gapsLate   prometheus.Counter
	commitErrs prometheus.Counter
	batch      prometheus.Histogram
	commit     prometheus.Histogram
	lag        prometheus.Histogram
	connected  prometheus.Gauge
	deleted    *prometheus.CounterVec
}

func newMetrics(queueDepth func() float64, rep func(ctx context.Context) (reportFigures, error)) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "laned", Subsystem: "collect", Name: name, Help: help}
	}
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts(f("received_total", "Payloads received from the broker, by topic leaf.")), []string{"leaf"})
	m.stored = prometheus.NewCounterVec(prometheus.CounterOpts(f("stored_total", "Messages stored (first copies), by kind.")), []string{"kind"})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts(f("duplicates_total", "Copies of messages already stored (dropped by message_id).")))
	m.outOfOrder = prometheus.NewCounter(prometheus.CounterOpts(f("out_of_order_total", "Messages that arrived after a later sequence of their lane.")))
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts(f("refused_total", "Payloads quarantined, by reason code.")), []string{"code"})
	m.gapsOpened = prometheus.NewCounter(prometheus.CounterOpts(f("gaps_opened_total", "Sequence gaps seen (a later sequence arrived first).")))
	m.gapsLate = prometheus.NewCounter(prometheus.CounterOpts(f("gaps_overdue_total", "Gaps that stayed open past the grace period (logged once each).")))
	m.commitErrs = prometheus.NewCounter(prometheus.CounterOpts(f("commit_errors_total", "Failed batch commits (retried; nothing acknowledged).")))
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "laned", Subsystem: "collect", Name: "batch_size",
		Help: "Messages per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 7)})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "laned", Subsystem: "collect", Name: "commit_seconds",
		Help: "Time to commit one batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8)})
	m.lag = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "laned", Subsystem: "collect", Name: "ingest_lag_seconds",
		Help: "Commit time minus the message's own time (completed_at / at): booth-to-office delay.", Buckets: prometheus.ExponentialBuckets(0.05, 4, 10)})
	m.connected = prometheus.NewGauge(prometheus.GaugeOpts(f("connected", "1 while connected to a broker.")))
	m.deleted = prometheus.NewCounterVec(prometheus.CounterOpts(f("retention_deleted_total", "Rows deleted by retention, by kind.")), []string{"kind"})
	m.reg.MustRegister(m.received, m.stored, m.duplicates, m.outOfOrder, m.refused, m.gapsOpened, m.gapsLate, m.commitErrs,
		m.batch, m.commit, m.lag, m.connected, m.deleted,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts(f("queue_depth", "Messages received and not yet committed.")), queueDepth),
		&reportCollector{report: rep})
	return m
}

// reportFigures are the loss report's totals.
type reportFigures struct {
	openGaps, overdueGaps, offline, silent, lanes int
	missing                                       uint64
}

// reportCollector reads the loss report from the database at scrape time
// (node_exporter style: with its own duration and success).
type reportCollector struct {
	report func(ctx context.Context) (reportFigures, error)
}

var (
	descGaps    = prometheus.NewDesc("laned_collect_open_gaps", "Open sequence gaps (all lanes).", nil, nil)
	descOverdue = prometheus.NewDesc("laned_collect_overdue_gaps", "Open gaps older than the grace period.", nil, nil)
	descMissing = prometheus.NewDesc("laned_collect_missing_sequences", "Sequences in open gaps.", nil, nil)
	descLanes   = prometheus.NewDesc("laned_collect_lanes", "Lanes known to the store, by state.", []string{"state"}, nil)
	descRepOK   = prometheus.NewDesc("laned_collect_report_success", "1 if the scrape-time loss report succeeded.", nil, nil)
	descRepDur  = prometheus.NewDesc("laned_collect_report_duration_seconds", "Time the scrape-time loss report took.", nil, nil)
)

func (r *reportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGaps, descOverdue, descMissing, descLanes, descRepOK, descRepDur} {
		ch <- d
	}
}

func (r *reportCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	f, err := r.report(ctx)
	ch <- prometheus.MustNewConstMetric(descRepDur, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descRepOK, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descRepOK, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descGaps, prometheus.GaugeValue, float64(f.openGaps))
	ch <- prometheus.MustNewConstMetric(descOverdue, prometheus.GaugeValue, float64(f.overdueGaps))
	ch <- prometheus.MustNewConstMetric(descMissing, prometheus.GaugeValue, float64(f.missing))
	ch <- prometheus.MustNewConstMetric(descLanes, prometheus.GaugeValue, float64(f.lanes), "all")
	ch <- prometheus.MustNewConstMetric(descLanes, prometheus.GaugeValue, float64(f.offline), "offline")
	ch <- prometheus.MustNewConstMetric(descLanes, prometheus.GaugeValue, float64(f.silent), "silent")
}

// Handler serves the collector's metrics (for --metrics ADDR at /metrics).
func (c *Collector) Handler() http.Handler {
	return promhttp.HandlerFor(c.m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the collector's private registry (for tests and embedding).
func (c *Collector) Registry() *prometheus.Registry { return c.m.reg }
