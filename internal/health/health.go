package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink"
)

// Level is how well a component works.
type Level uint8

const (
	OK       Level = iota // working
	Degraded              // working with a handicap
	Fault                 // not working
)

func (l Level) String() string {
	switch l {
	case OK:
		return "ok"
	case Degraded:
		return "degraded"
	case Fault:
		return "fault"
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// MarshalText writes the level's name (JSON of the local API).
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (l *Level) UnmarshalText(b []byte) error {
	for _, v := range []Level{OK, Degraded, Fault} {
		if string(b) == v.String() {
			*l = v
			return nil
		}
	}
	return fmt.Errorf("health: unknown level %q", b)
}

// Reporter is what a component is given to report its own state. A
// camera, a sensor or the gallery holds one; reports are cheap and may come
// from any goroutine.
type Reporter interface {
	Report(level Level, reason string)
}

// CameraReporter is what a camera source is given for its figures.
type CameraReporter interface {
	ReportCamera(summary.CameraHealth)
}

// SensorReporter is what a vehicle-presence sensor is given.
type SensorReporter interface {
	ReportSensor(summary.SensorHealth)
}

// GalleryReporter is what the active gallery reports besides its level.
type GalleryReporter interface {
	Reporter
	ReportGallery(version string, created time.Time)
}

// Outbox is the part of *outbox.Outbox the tracker uses.
type Outbox interface {
	Enqueue(ctx context.Context, kind outbox.Kind, payload []byte) (outbox.Message, error)
	Stats() outbox.Stats
}

// Events takes the faults of reported components (*events.Emitter).
type Events interface {
	Raise(ctx context.Context, f events.Fault) error
	Resolve(ctx context.Context, code, source, message string) error
}

// Uplink is the part of *uplink.Publisher the tracker reads.
type Uplink interface {
	Status() uplink.Status
}

// Options configure New. Zero fields take the defaults named here.
type Options struct {
	Site, Lane string // lane identity (top-level config); required
	Version    string // laned's version; default "dev"
	Outbox     Outbox // required: read for its state, written with reports
	Uplink     Uplink // optional
	// Events, when set, gets a "health.fault" event (source: the
	// component) when a reported component enters fault, resolved when it
	// leaves it.
	Events Events
	// Interval between health reports committed to the outbox; default
	// 60s, negative: none (Snapshot and Health still work).
	Interval time.Duration
	// DiskPath is statted for free space (the state directory); "" none.
	DiskPath string
	// DiskMinFree: less free space than this is degraded. Default 512 MiB.
	DiskMinFree uint64
	// ThermalPath is a millidegree file such as
	// /sys/class/thermal/thermal_zone0/temp; "" none.
	ThermalPath string
	// TempMax: hotter than this (°C) is degraded. Default 85.
	TempMax float64
	// UplinkGrace: the uplink may be disconnected this long before it
	// counts as degraded (restarts, a broker's failover). Default 2m.
	UplinkGrace time.Duration
	Clock       clock.Clock  // default clock.Real
	Log         *slog.Logger // default slog.Default
	// statfs and readFile are replaced by tests.
	statfs   func(path string) (free, total uint64, err error)
	readTemp func(path string) (float64, error)
}

// Component is one component's last report.
type Component struct {
	Name   string    `json:"name"`
	Level  Level     `json:"level"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"` // when Level was entered
}

// Snapshot is the lane's state at one time.
type Snapshot struct {
	At           time.Time              `json:"at"`
	Level        Level                  `json:"level"` // the worst component's
	Components   []Component            `json:"components"`
	Cameras      []summary.CameraHealth `json:"cameras,omitempty"`
	Sensors      []summary.SensorHealth `json:"sensors,omitempty"`
	Outbox       summary.OutboxHealth   `json:"outbox"`
	Uplink       *uplink.Status         `json:"uplink,omitempty"`
	Gallery      *summary.GalleryHealth `json:"gallery,omitempty"`
	Disk         *summary.DiskHealth    `json:"disk,omitempty"`
	TemperatureC *float64               `json:"temperature_c,omitempty"`
	UptimeS      float64                `json:"uptime_s"`
	ReportErrors uint64                 `json:"report_errors,omitempty"` // health reports the outbox refused
}

// Tracker collects the lane's health. Its methods are safe for concurrent use.
type Tracker struct {
	o       Options
	clk     clock.Clock
	log     *slog.Logger
	started time.Time

	mu       sync.Mutex
	comps    map[string]*Component
	cameras  map[string]summary.CameraHealth
	sensors  map[string]summary.SensorHealth
	gallery  *galleryInfo
	repErrs  uint64
	closeCh  chan struct{}
	closeOne sync.Once
}

// New checks o and returns a tracker.
func New(o Options) (*Tracker, error) {
	if o.Outbox == nil {
		return nil, errors.New("health: no outbox")
	}
	if o.Site == "" || o.Lane == "" {
		return nil, errors.New("health: site and lane are required")
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Interval == 0 {
		o.Interval = time.Minute
	}
	if o.Interval > 0 && o.Interval < time.Second {
		return nil, fmt.Errorf("health: interval %s, must be at least 1s (or negative for none)", o.Interval)
	}
	if o.DiskMinFree == 0 {
		o.DiskMinFree = 512 << 20
	}
	if o.TempMax == 0 {
		o.TempMax = 85
	}
	if o.UplinkGrace == 0 {
		o.UplinkGrace = 2 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.statfs == nil {
		o.statfs = statfs
	}
	if o.readTemp == nil {
		o.readTemp = readMilliCelsius
	}
	t := &Tracker{o: o, clk: o.Clock, log: o.Log.With("component", "health"), started: o.Clock.Now(),
		comps: map[string]*Component{}, cameras: map[string]summary.CameraHealth{},
		sensors: map[string]summary.SensorHealth{}, closeCh: make(chan struct{})}
	return t, nil
}

// named reports for one component.
type named struct {
	t    *Tracker
	name string
}

func (n named) Report(level Level, reason string) { n.t.set(n.name, level, reason) }

// Reporter returns the reporter of the component called name.
func (t *Tracker) Reporter(name string) Reporter { return named{t, name} }

// Gallery returns the reporter of the active gallery.
func (t *Tracker) Gallery() GalleryReporter { return galleryRep{named{t, "gallery"}} }

type galleryRep struct{ named }

type galleryInfo struct {
	version string
	created time.Time
}

func (g galleryRep) ReportGallery(version string, created time.Time) {
	g.t.mu.Lock()
	defer g.t.mu.Unlock()
	if version == "" {
		g.t.gallery = nil
		return
	}
	g.t.gallery = &galleryInfo{version, created}
}

func (t *Tracker) set(name string, level Level, reason string) {
	now := t.clk.Now()
	t.mu.Lock()
	c, ok := t.comps[name]
	if !ok {
		c = &Component{Name: name, Since: now}
		t.comps[name] = c
	}
	changed := ok && (c.Level != level || c.Reason != reason)
	was := c.Level
	if ok && c.Level != level {
		c.Since = now
	}
	c.Level, c.Reason = level, reason
	t.mu.Unlock()
	if changed || (!ok && level != OK) {
		t.log.Info("health changed", "part", name, "level", level, "reason", reason)
	}
	if t.o.Events != nil && (was != level || (!ok && level != OK)) {
		t.event(name, was, level, reason)
	}
}

// event raises a component's fault (level fault) or resolves it (back
// from fault); events de-duplicates and folds flapping.
func (t *Tracker) event(name string, was, level Level, reason string) {
	ctx := context.Background()
	switch {
	case level == Fault:
		t.o.Events.Raise(ctx, events.Fault{Code: "health.fault", Source: name, Severity: events.Error, Message: clip(reason)})
	case was == Fault:
		t.o.Events.Resolve(ctx, "health.fault", name, "back to "+level.String())
	}
}

func clip(s string) string {
	if r := []rune(s); len(r) > 250 {
		return string(r[:250]) + "…"
	}
	return s
}

// ReportCamera records a camera's figures; a camera with an error is a fault.
func (t *Tracker) ReportCamera(c summary.CameraHealth) {
	t.mu.Lock()
	t.cameras[c.ID] = c
	t.mu.Unlock()
	if c.Error != "" {
		t.set("camera/"+c.ID, Fault, c.Error)
	} else {
		t.set("camera/"+c.ID, OK, "")
	}
}

// ReportSensor records a sensor's state; "fault" is a fault.
func (t *Tracker) ReportSensor(s summary.SensorHealth) {
	t.mu.Lock()
	t.sensors[s.ID] = s
	t.mu.Unlock()
	if s.State == "fault" {
		t.set("sensor/"+s.ID, Fault, "sensor reports a fault")
	} else {
		t.set("sensor/"+s.ID, OK, "")
	}
}

// Snapshot reads every source now and returns the lane's state.
func (t *Tracker) Snapshot() Snapshot {
	now := t.clk.Now()
	s := Snapshot{At: now.UTC(), UptimeS: max(0, now.Sub(t.started).Seconds())}
	st := t.o.Outbox.Stats()
	s.Outbox = summary.OutboxHealth{Depth: st.Count, Bytes: st.Bytes, OldestAgeS: st.OldestAge.Seconds(), Quarantined: st.Quarantined}
	for _, c := range st.Classes {
		s.Outbox.Dropped += c.Dropped + c.Expired
		s.Outbox.Unstored += c.Unstored
	}
	derived := []Component{outboxLevel(st)}
	if t.o.Uplink != nil {
		us := t.o.Uplink.Status()
		s.Uplink = &us
		derived = append(derived, uplinkLevel(us, now, t.o.UplinkGrace))
	}
	if t.o.DiskPath != "" {
		c := Component{Name: "disk"}
		free, total, err := t.o.statfs(t.o.DiskPath)
		switch {
		case err != nil:
			c.Level, c.Reason = Fault, err.Error()
		default:
			s.Disk = &summary.DiskHealth{FreeBytes: free, TotalBytes: total}
			if free < t.o.DiskMinFree {
				c.Level, c.Reason = Degraded, fmt.Sprintf("%d MiB free on %s, want at least %d MiB", free>>20, t.o.DiskPath, t.o.DiskMinFree>>20)
			}
		}
		derived = append(derived, c)
	}
	if t.o.ThermalPath != "" {
		c := Component{Name: "temperature"}
		v, err := t.o.readTemp(t.o.ThermalPath)
		switch {
		case err != nil:
			c.Level, c.Reason = Degraded, err.Error()
		default:
			s.TemperatureC = &v
			if v > t.o.TempMax {
				c.Level, c.Reason = Degraded, fmt.Sprintf("%.1f °C, above %.1f °C", v, t.o.TempMax)
			}
		}
		derived = append(derived, c)
	}

	t.mu.Lock()
	for _, c := range t.comps {
		s.Components = append(s.Components, *c)
	}
	for _, c := range t.cameras {
		s.Cameras = append(s.Cameras, c)
	}
	for _, c := range t.sensors {
		s.Sensors = append(s.Sensors, c)
	}
	if g := t.gallery; g != nil {
		s.Gallery = &summary.GalleryHealth{Version: g.version, AgeS: max(0, now.Sub(g.created).Seconds())}
	}
	s.ReportErrors = t.repErrs
	t.mu.Unlock()
	for _, c := range derived {
		c.Since = time.Time{} // read now: no history
		s.Components = append(s.Components, c)
	}
	sort.Slice(s.Components, func(i, j int) bool { return s.Components[i].Name < s.Components[j].Name })
	sort.Slice(s.Cameras, func(i, j int) bool { return s.Cameras[i].ID < s.Cameras[j].ID })
	sort.Slice(s.Sensors, func(i, j int) bool { return s.Sensors[i].ID < s.Sensors[j].ID })
	for _, c := range s.Components {
		s.Level = max(s.Level, c.Level)
	}
	return s
}

func outboxLevel(st outbox.Stats) Component {
	c := Component{Name: "outbox"}
	var unstored, refused uint64
	for _, cs := range st.Classes {
		unstored += cs.Unstored
		refused += cs.Refused
	}
	switch {
	case unstored > 0:
		c.Level, c.Reason = Fault, fmt.Sprintf("%d messages could not be stored since start (disk full or I/O error)", unstored)
	case refused > 0:
		c.Level, c.Reason = Degraded, fmt.Sprintf("%d messages refused at the outbox bound", refused)
	case st.StoreErrors > 0:
		c.Level, c.Reason = Degraded, fmt.Sprintf("%d failed outbox transactions since start", st.StoreErrors)
	}
	return c
}

func uplinkLevel(us uplink.Status, now time.Time, grace time.Duration) Component {
	c := Component{Name: "uplink"}
	if us.State != uplink.StateConnected && now.Sub(us.Since) >= grace {
		c.Level = Degraded
		c.Reason = fmt.Sprintf("not connected for %s: %s", now.Sub(us.Since).Round(time.Second), us)
	}
	return c
}

// Health builds the `health` payload from a snapshot taken now.
func (t *Tracker) Health() *summary.Health {
	s := t.Snapshot()
	return &summary.Health{
		Header: summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindHealth},
		Site:   t.o.Site, Lane: t.o.Lane, At: s.At, Version: t.o.Version, UptimeS: s.UptimeS,
		Cameras: s.Cameras, Sensors: s.Sensors, Outbox: s.Outbox, Gallery: s.Gallery,
		TemperatureC: s.TemperatureC, Disk: s.Disk,
	}
}

// QueueHealth commits one health report to the outbox.
func (t *Tracker) QueueHealth(ctx context.Context) error {
	b, err := summary.Marshal(t.Health())
	if err != nil {
		return fmt.Errorf("health: report: %w", err)
	}
	if _, err := t.o.Outbox.Enqueue(ctx, outbox.KindHealth, b); err != nil {
		t.mu.Lock()
		t.repErrs++
		t.mu.Unlock()
		return fmt.Errorf("health: queue report: %w", err)
	}
	return nil
}

// Run commits a health report every Interval until ctx is cancelled or
// Close; then it returns nil. A report the outbox refuses is counted
// (Snapshot.ReportErrors) and logged; Run goes on.
func (t *Tracker) Run(ctx context.Context) error {
	if t.o.Interval < 0 {
		select {
		case <-ctx.Done():
		case <-t.closeCh:
		}
		return nil
	}
	tk := t.clk.NewTicker(t.o.Interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.closeCh:
			return nil
		case <-tk.C():
		}
		if err := t.QueueHealth(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("health report not queued", "err", err)
		}
	}
}

// Close ends Run. It is idempotent.
func (t *Tracker) Close() error {
	t.closeOne.Do(func() { close(t.closeCh) })
	return nil
}
