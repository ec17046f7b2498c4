package console

import (
	"context"
	"time"
)

// Backend is what the console needs from the daemon. The local API client
// implements it; the interfaces are split by concern so that a partial
// backend (the daemon down: models and configuration only) can say which
// part is missing.
type Backend interface {
	StatusBackend
	CameraBackend
	SensorBackend
	LaneBackend
	GalleryBackend
	OutboxBackend
	SystemBackend
}

// StatusBackend reports the daemon's overall state.
type StatusBackend interface {
	Status(ctx context.Context) (Status, error)
}

// CameraBackend lists cameras, reads and sets their controls, takes
// snapshots for aiming and reports live sharpness for focusing.
type CameraBackend interface {
	Cameras(ctx context.Context) ([]Camera, error)
	SetControl(ctx context.Context, camera, control string, value int64) (Control, error)
	// Snapshot returns a JPEG of one live frame with the detector's boxes
	// and quality figures drawn on it, and the same figures as data.
	Snapshot(ctx context.Context, camera string) (Snapshot, error)
	// Focus calls fn with a sharpness reading for each analysed frame until
	// ctx is done or fn returns an error.
	Focus(ctx context.Context, camera string, fn func(FocusReading) error) error
}

// SensorBackend reports presence sensors.
type SensorBackend interface {
	Sensors(ctx context.Context) ([]Sensor, error)
	// WatchSensors calls fn on every edge until ctx is done or fn errs.
	WatchSensors(ctx context.Context, fn func(SensorEdge) error) error
}

// LaneBackend drives the lane for commissioning.
type LaneBackend interface {
	// TriggerTest runs a simulated vehicle through the real pipeline; its
	// summary is marked as a test.
	TriggerTest(ctx context.Context) (TestResult, error)
}

// GalleryBackend reports and updates the gallery.
type GalleryBackend interface {
	GalleryInfo(ctx context.Context) (GalleryInfo, error)
	GallerySync(ctx context.Context) (GalleryInfo, error)
	// GalleryImport imports a bundle file that is on the booth (path as the
	// daemon sees it).
	GalleryImport(ctx context.Context, path string) (GalleryInfo, error)
}

// OutboxBackend reports and nudges the durable outbox.
type OutboxBackend interface {
	Outbox(ctx context.Context) (OutboxInfo, error)
	OutboxRetry(ctx context.Context) (OutboxInfo, error)
}

// SystemBackend covers models, configuration, logs, events and self-tests.
type SystemBackend interface {
	Models(ctx context.Context) ([]Model, error)
	// Config returns the effective configuration as a YAML or JSON document
	// tree (maps, slices, scalars). The console redacts secret keys.
	Config(ctx context.Context) (map[string]any, error)
	// LogTail calls fn with the last n log lines, then, when follow is set,
	// with each new one until ctx is done.
	LogTail(ctx context.Context, n int, follow bool, fn func(string) error) error
	// Events is LogTail for the daemon's events (faults and audit).
	Events(ctx context.Context, n int, follow bool, fn func(Event) error) error
	// Selftest runs the commissioning checks (laned check's table).
	Selftest(ctx context.Context) ([]CheckResult, error)
}

// Status is the daemon's overall state.
type Status struct {
	Version  string
	Site     string
	Lane     string
	State    string // ok, degraded, fault
	Uptime   time.Duration
	Problems []string          // one line per degraded or faulted component
	Parts    map[string]string // component → state
}

// Camera is one camera as the lane sees it.
type Camera struct {
	Name     string
	Device   string
	Format   string  // "MJPG 1280x720"
	FPS      float64 // measured
	Want     float64 // configured
	State    string
	Controls []Control
}

// Control is one V4L2 control.
type Control struct {
	Name          string
	Value         int64
	Min, Max, Def int64
}

// Snapshot is a human-facing image for aiming and focus.
type Snapshot struct {
	Camera string
	Taken  time.Time
	Width  int
	Height int
	JPEG   []byte
	Faces  []SnapshotFace
	Sharp  float64 // frame sharpness (variance of the Laplacian)
	Bright float64 // mean luminance 0–255
}

// SnapshotFace is one detected face and its quality figures.
type SnapshotFace struct {
	X, Y, W, H int
	Score      float64 // detector confidence
	Quality    float64 // 0–1
	Verdict    string  // ok or the rejection reason
}

// FocusReading is one live sharpness figure.
type FocusReading struct {
	At    time.Time
	Sharp float64 // higher is sharper
	Best  float64 // best seen since focus started
	Faces int
}

// Sensor is one presence input.
type Sensor struct {
	Name   string
	Line   string // gpiochip0:17
	Active bool
	Edges  uint64
	State  string // ok, stuck, missing
}

// SensorEdge is a change of one input.
type SensorEdge struct {
	At     time.Time
	Name   string
	Active bool
	Edges  uint64
}

// TestResult is the outcome of a simulated vehicle.
type TestResult struct {
	Transaction string
	Decision    string
	Occupants   int
	Latency     time.Duration
	Queued      bool // the summary is in the outbox
}

// GalleryInfo describes the active gallery.
type GalleryInfo struct {
	Version  string
	Subjects int
	LoadedAt time.Time
	Built    time.Time
	NextSync time.Time
	State    string
}

// OutboxInfo describes the outbox.
type OutboxInfo struct {
	Depth       int
	Oldest      time.Duration // age of the oldest record; 0 when empty
	Quarantined int
	Uplink      string // connected, offline, …
}

// Model is one model file.
type Model struct {
	Name   string
	SHA256 string
	OK     bool
	Error  string
}

// Event is a daemon event (fault or audit).
type Event struct {
	At       time.Time
	Severity string
	Kind     string
	Text     string
}

// CheckResult is one row of the commissioning table.
type CheckResult struct {
	Name   string
	OK     bool
	Detail string
}
