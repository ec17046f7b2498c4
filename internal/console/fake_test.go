package console

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
)

// Secrets the fake backend's configuration and logs contain; no output may
// ever show them.
const (
	fakeBrokerPassword = "hunter2-broker-Pa55"
	fakeGalleryKey     = "c2VjcmV0LWdhbGxlcnkta2V5"
)

// fakeBackend records which backend calls ran, so tests can prove a denied
// command never reached the daemon.
type fakeBackend struct {
	mu    sync.Mutex
	calls []string
	edges chan SensorEdge
}

func (f *fakeBackend) hit(name string) {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func (f *fakeBackend) Status(context.Context) (Status, error) {
	f.hit("Status")
	return Status{Version: "1.2.3", Site: "north", Lane: "3", State: "degraded", Uptime: 90 * time.Minute,
		Problems: []string{"uplink: offline since 07:58"}, Parts: map[string]string{"uplink": "offline", "cam-front": "ok"}}, nil
}

func (f *fakeBackend) Cameras(context.Context) ([]Camera, error) {
	f.hit("Cameras")
	return []Camera{{Name: "front", Device: "/dev/video0", Format: "MJPG 1280x720", FPS: 14.9, Want: 15, State: "ok",
		Controls: []Control{{Name: "exposure_absolute", Value: 250, Min: 1, Max: 5000, Def: 250}, {Name: "focus_absolute", Value: 30, Max: 250}}}}, nil
}

func (f *fakeBackend) SetControl(_ context.Context, cam, ctl string, v int64) (Control, error) {
	f.hit("SetControl")
	if cam != "front" {
		return Control{}, errors.New("no such camera")
	}
	return Control{Name: ctl, Value: v}, nil
}

func (f *fakeBackend) Snapshot(_ context.Context, cam string) (Snapshot, error) {
	f.hit("Snapshot")
	return Snapshot{Camera: cam, Taken: t0, Width: 1280, Height: 720, JPEG: []byte("\xff\xd8fakejpeg\xff\xd9"), Sharp: 412, Bright: 118,
		Faces: []SnapshotFace{{X: 600, Y: 200, W: 120, H: 150, Score: 0.97, Quality: 0.81, Verdict: "ok"}}}, nil
}

func (f *fakeBackend) Focus(ctx context.Context, cam string, fn func(FocusReading) error) error {
	f.hit("Focus")
	for i, s := range []float64{100, 300, 250} {
		if err := fn(FocusReading{At: t0.Add(time.Duration(i) * time.Second), Sharp: s, Best: 300, Faces: 1}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeBackend) Sensors(context.Context) ([]Sensor, error) {
	f.hit("Sensors")
	return []Sensor{{Name: "arrival", Line: "gpiochip0:17", Active: false, Edges: 42, State: "ok"},
		{Name: "departure", Line: "gpiochip0:27", Active: true, Edges: 41, State: "stuck"}}, nil
}

func (f *fakeBackend) WatchSensors(ctx context.Context, fn func(SensorEdge) error) error {
	f.hit("WatchSensors")
	if err := fn(SensorEdge{At: t0, Name: "arrival", Active: true, Edges: 43}); err != nil {
		return err
	}
	if f.edges != nil {
		for {
			select {
			case e := <-f.edges:
				if err := fn(e); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeBackend) TriggerTest(context.Context) (TestResult, error) {
	f.hit("TriggerTest")
	return TestResult{Transaction: "tx-test-1", Decision: "no_match", Occupants: 2, Latency: 84 * time.Millisecond, Queued: true}, nil
}

func (f *fakeBackend) GalleryInfo(context.Context) (GalleryInfo, error) {
	f.hit("GalleryInfo")
	return GalleryInfo{Version: "g-20261130", Subjects: 1200, LoadedAt: t0, Built: t0.Add(-8 * time.Hour), State: "ok"}, nil
}

func (f *fakeBackend) GallerySync(context.Context) (GalleryInfo, error) {
	f.hit("GallerySync")
	return GalleryInfo{}, errors.New("central office unreachable: dial tcp 10.0.0.1:443: connection refused")
}

func (f *fakeBackend) GalleryImport(_ context.Context, p string) (GalleryInfo, error) {
	f.hit("GalleryImport")
	return GalleryInfo{Version: "g-import", Subjects: 3, LoadedAt: t0, Built: t0, State: "ok"}, nil
}

func (f *fakeBackend) Outbox(context.Context) (OutboxInfo, error) {
	f.hit("Outbox")
	return OutboxInfo{Depth: 7, Oldest: 3 * time.Minute, Uplink: "offline"}, nil
}

func (f *fakeBackend) OutboxRetry(context.Context) (OutboxInfo, error) {
	f.hit("OutboxRetry")
	return OutboxInfo{Depth: 0, Uplink: "connected"}, nil
}

func (f *fakeBackend) Models(context.Context) ([]Model, error) {
	f.hit("Models")
	return []Model{{Name: "blazeface.onnx", SHA256: "0123456789abcdef", OK: true}}, nil
}

func (f *fakeBackend) Config(context.Context) (map[string]any, error) {
	f.hit("Config")
	return map[string]any{
		"site": "north", "lane": "3",
		"uplink": map[string]any{"broker": "ssl://broker:8883", "username": "lane3", "password": fakeBrokerPassword,
			"key_file": "/etc/laned/client.key"},
		"gallery": map[string]any{"at_rest_key": fakeGalleryKey, "note": "key is " + fakeGalleryKey},
	}, nil
}

func (f *fakeBackend) LogTail(ctx context.Context, n int, follow bool, fn func(string) error) error {
	f.hit("LogTail")
	for _, l := range []string{"level=INFO msg=started", "level=WARN msg=\"broker refused\" password=" + fakeBrokerPassword} {
		if err := fn(l); err != nil {
			return err
		}
	}
	if follow {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (f *fakeBackend) Events(ctx context.Context, n int, follow bool, fn func(Event) error) error {
	f.hit("Events")
	return fn(Event{At: t0, Severity: "warning", Kind: "camera_fault", Text: "front: no frames for 5s"})
}

func (f *fakeBackend) Selftest(context.Context) ([]CheckResult, error) {
	f.hit("Selftest")
	return []CheckResult{{Name: "models", OK: true, Detail: "3 files verified"}, {Name: "broker", OK: false, Detail: "broker ssl://broker:8883: connection refused"}}, nil
}

// bufOut is an Output that keeps text and files.
type bufOut struct {
	bytes.Buffer
	files  map[string][]byte
	noFile bool
}

func (b *bufOut) File(name string, data []byte) error {
	if b.noFile {
		return ErrNoFile
	}
	if b.files == nil {
		b.files = map[string][]byte{}
	}
	b.files[name] = data
	return nil
}
