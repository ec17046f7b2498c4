package localapi

import (
	"context"
	"errors"

	"github.com/laned/laned/internal/console"
)

// Fallback is the console backend of a console that runs beside the
// daemon (laned console serve, the serial unit that survives a daemon
// fault): each call goes to the daemon and, when none serves the socket,
// to Offline (models, selftest, log tail; the rest says the daemon is
// down).
type Fallback struct {
	Daemon  *Backend
	Offline console.Backend
}

var _ console.Backend = Fallback{}

func down(err error) bool { return errors.Is(err, ErrNoDaemon) }

func either[T any](ctx context.Context, remote, local func(context.Context) (T, error)) (T, error) {
	v, err := remote(ctx)
	if down(err) {
		return local(ctx)
	}
	return v, err
}

func eitherErr(ctx context.Context, remote, local func(context.Context) error) error {
	if err := remote(ctx); !down(err) {
		return err
	}
	return local(ctx)
}

// Status implements console.Backend.
func (f Fallback) Status(ctx context.Context) (console.Status, error) {
	return either(ctx, f.Daemon.Status, f.Offline.Status)
}

// Cameras implements console.Backend.
func (f Fallback) Cameras(ctx context.Context) ([]console.Camera, error) {
	return either(ctx, f.Daemon.Cameras, f.Offline.Cameras)
}

// SetControl implements console.Backend.
func (f Fallback) SetControl(ctx context.Context, cam, ctl string, v int64) (console.Control, error) {
	return either(ctx, func(ctx context.Context) (console.Control, error) { return f.Daemon.SetControl(ctx, cam, ctl, v) },
		func(ctx context.Context) (console.Control, error) { return f.Offline.SetControl(ctx, cam, ctl, v) })
}

// Snapshot implements console.Backend.
func (f Fallback) Snapshot(ctx context.Context, cam string) (console.Snapshot, error) {
	return either(ctx, func(ctx context.Context) (console.Snapshot, error) { return f.Daemon.Snapshot(ctx, cam) },
		func(ctx context.Context) (console.Snapshot, error) { return f.Offline.Snapshot(ctx, cam) })
}

// Focus implements console.Backend.
func (f Fallback) Focus(ctx context.Context, cam string, fn func(console.FocusReading) error) error {
	return eitherErr(ctx, func(ctx context.Context) error { return f.Daemon.Focus(ctx, cam, fn) },
		func(ctx context.Context) error { return f.Offline.Focus(ctx, cam, fn) })
}

// Sensors implements console.Backend.
func (f Fallback) Sensors(ctx context.Context) ([]console.Sensor, error) {
	return either(ctx, f.Daemon.Sensors, f.Offline.Sensors)
}

// WatchSensors implements console.Backend.
func (f Fallback) WatchSensors(ctx context.Context, fn func(console.SensorEdge) error) error {
	return eitherErr(ctx, func(ctx context.Context) error { return f.Daemon.WatchSensors(ctx, fn) },
		func(ctx context.Context) error { return f.Offline.WatchSensors(ctx, fn) })
}

// TriggerTest implements console.Backend.
func (f Fallback) TriggerTest(ctx context.Context) (console.TestResult, error) {
	return either(ctx, f.Daemon.TriggerTest, f.Offline.TriggerTest)
}

// GalleryInfo implements console.Backend.
func (f Fallback) GalleryInfo(ctx context.Context) (console.GalleryInfo, error) {
	return either(ctx, f.Daemon.GalleryInfo, f.Offline.GalleryInfo)
}

// GallerySync implements console.Backend.
func (f Fallback) GallerySync(ctx context.Context) (console.GalleryInfo, error) {
	return either(ctx, f.Daemon.GallerySync, f.Offline.GallerySync)
}

// GalleryImport implements console.Backend.
func (f Fallback) GalleryImport(ctx context.Context, path string) (console.GalleryInfo, error) {
	return either(ctx, func(ctx context.Context) (console.GalleryInfo, error) { return f.Daemon.GalleryImport(ctx, path) },
		func(ctx context.Context) (console.GalleryInfo, error) { return f.Offline.GalleryImport(ctx, path) })
}

// Outbox implements console.Backend.
func (f Fallback) Outbox(ctx context.Context) (console.OutboxInfo, error) {
	return either(ctx, f.Daemon.Outbox, f.Offline.Outbox)
}

// OutboxRetry implements console.Backend.
func (f Fallback) OutboxRetry(ctx context.Context) (console.OutboxInfo, error) {
	return either(ctx, f.Daemon.OutboxRetry, f.Offline.OutboxRetry)
}

// Models implements console.Backend.
func (f Fallback) Models(ctx context.Context) ([]console.Model, error) {
	return either(ctx, f.Daemon.Models, f.Offline.Models)
}

// Config implements console.Backend.
func (f Fallback) Config(ctx context.Context) (map[string]any, error) {
	return either(ctx, f.Daemon.Config, f.Offline.Config)
}

// LogTail implements console.Backend.
func (f Fallback) LogTail(ctx context.Context, n int, follow bool, fn func(string) error) error {
	return eitherErr(ctx, func(ctx context.Context) error { return f.Daemon.LogTail(ctx, n, follow, fn) },
		func(ctx context.Context) error { return f.Offline.LogTail(ctx, n, follow, fn) })
}

// Events implements console.Backend.
func (f Fallback) Events(ctx context.Context, n int, follow bool, fn func(console.Event) error) error {
	return eitherErr(ctx, func(ctx context.Context) error { return f.Daemon.Events(ctx, n, follow, fn) },
		func(ctx context.Context) error { return f.Offline.Events(ctx, n, follow, fn) })
}

// Selftest implements console.Backend.
func (f Fallback) Selftest(ctx context.Context) ([]console.CheckResult, error) {
	return either(ctx, f.Daemon.Selftest, f.Offline.Selftest)
}
