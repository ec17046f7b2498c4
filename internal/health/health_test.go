package health

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/events"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink"
)

var t0 = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

func openOutbox(t *testing.T) *outbox.Outbox {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

type fakeUplink struct{ st uplink.Status }

func (f fakeUplink) Status() uplink.Status { return f.st }

func newTracker(t *testing.T, o Options) (*Tracker, *clock.Fake) {
	fc := clock.NewFake(t0)
	o.Clock = fc
	o.Log = slog.New(slog.DiscardHandler)
	o.Site, o.Lane = "north", "L2"
	if o.Outbox == nil {
		o.Outbox = openOutbox(t)
	}
	tr, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return tr, fc
}

func level(s Snapshot, name string) (Component, bool) {
	for _, c := range s.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// TestSnapshot: each source's level, read at snapshot time, and the lane's
// level is the worst of them.
func TestSnapshot(t *testing.T) {
	up := &fakeUplink{uplink.Status{State: uplink.StateConnecting, Since: t0, Reason: uplink.ReasonUnreachable}}
	free := uint64(100 << 20)
	temp := 91.0
	tr, fc := newTracker(t, Options{Uplink: up, DiskPath: "/state", ThermalPath: "/temp"})
	tr.o.statfs = func(string) (uint64, uint64, error) { return free, 1 << 30, nil }
	tr.o.readTemp = func(string) (float64, error) { return temp, nil }

	s := tr.Snapshot()
	if c, _ := level(s, "uplink"); c.Level != OK {
		t.Errorf("uplink inside its grace: %+v", c)
	}
	if c, _ := level(s, "disk"); c.Level != Degraded || !strings.Contains(c.Reason, "100 MiB free") {
		t.Errorf("disk: %+v", c)
	}
	if c, _ := level(s, "temperature"); c.Level != Degraded {
		t.Errorf("temperature: %+v", c)
	}
	fc.Advance(3 * time.Minute)
	if c, _ := level(tr.Snapshot(), "uplink"); c.Level != Degraded || !strings.Contains(c.Reason, "unreachable") {
		t.Errorf("uplink after 3 min: %+v", c)
	}
	free, temp = 2<<30, 50
	up.st = uplink.Status{State: uplink.StateConnected, Since: fc.Now()}
	tr.Gallery().Report(Degraded, "no gallery imported")
	if s := tr.Snapshot(); s.Level != Degraded {
		t.Errorf("no gallery: lane level %s", s.Level)
	}
	tr.Gallery().Report(OK, "")
	tr.Gallery().ReportGallery("7", t0)
	tr.ReportCamera(summary.CameraHealth{ID: "front", FPS: 15})
	tr.ReportSensor(summary.SensorHealth{ID: "arrival", State: "clear"})
	s = tr.Snapshot()
	if s.Level != OK || s.Gallery == nil || s.Gallery.Version != "7" || s.Gallery.AgeS != 180 || len(s.Cameras) != 1 {
		t.Errorf("all well: %+v", s)
	}
	tr.ReportCamera(summary.CameraHealth{ID: "front", Error: "device vanished"})
	if c, _ := level(tr.Snapshot(), "camera/front"); c.Level != Fault || c.Reason != "device vanished" {
		t.Errorf("camera fault: %+v", c)
	}
	if tr.Snapshot().Level != Fault {
		t.Error("a camera fault is not the lane's level")
	}
}

// TestReportsToOutbox: Run commits a valid health payload every Interval
// (fake clock), and keeps going when the outbox refuses one.
func TestReportsToOutbox(t *testing.T) {
	ob := openOutbox(t)
	fo := &failing{Outbox: ob}
	tr, fc := newTracker(t, Options{Outbox: fo, Interval: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	fc.BlockUntil(1)
	fc.Advance(30 * time.Second)
	waitFor(t, func() bool { return ob.Stats().Count == 1 })
	fo.fail.Store(true)
	fc.Advance(30 * time.Second)
	waitFor(t, func() bool { return tr.Snapshot().ReportErrors == 1 })
	fo.fail.Store(false)
	fc.Advance(30 * time.Second)
	waitFor(t, func() bool { return ob.Stats().Count == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v", err)
	}
	msgs, _ := ob.Pending(10)
	for _, m := range msgs {
		if m.Kind != outbox.KindHealth {
			t.Errorf("kind %s", m.Kind)
		}
		if _, err := summary.UnmarshalUnstamped(m.Payload); err != nil {
			t.Errorf("payload refused: %v: %s", err, m.Payload)
		}
		if !strings.Contains(string(m.Payload), `"site":"north"`) {
			t.Errorf("payload %s", m.Payload)
		}
	}
}

func TestLifecycle(t *testing.T) {
	tr, _ := newTracker(t, Options{})
	done := make(chan error)
	go func() { done <- tr.Run(context.Background()) }()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run on Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr2, _ := newTracker(t, Options{Interval: -1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- tr2.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v", err)
	}
	if _, err := New(Options{Site: "s", Lane: "l"}); err == nil {
		t.Error("New without an outbox")
	}
}

func TestReadMilliCelsius(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text string
		want float64
		ok   bool
	}{{"45500\n", 45.5, true}, {"-3000", -3, true}, {"hot", 0, false}, {"999999999", 0, false}} {
		p := filepath.Join(dir, "temp")
		writeFile(t, p, tc.text)
		v, err := readMilliCelsius(p)
		if (err == nil) != tc.ok || (tc.ok && v != tc.want) {
			t.Errorf("%q: %v %v", tc.text, v, err)
		}
	}
	if _, err := readMilliCelsius(filepath.Join(dir, "none")); err == nil {
		t.Error("missing file read")
	}
	if _, _, err := statfs(filepath.Join(dir, "none")); err == nil {
		t.Error("statfs of a missing path")
	}
	if free, total, err := statfs(dir); err != nil || total == 0 || free > total {
		t.Errorf("statfs: %d %d %v", free, total, err)
	}
}

func TestLevelText(t *testing.T) {
	for _, l := range []Level{OK, Degraded, Fault} {
		b, _ := l.MarshalText()
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("%s: %v %v", l, back, err)
		}
	}
	var l Level
	if err := l.UnmarshalText([]byte("fine")); err == nil {
		t.Error("unknown level accepted")
	}
}

type faults struct{ got []string }

func (f *faults) Raise(_ context.Context, e events.Fault) error {
	f.got = append(f.got, "raise "+e.Source+": "+e.Message)
	return nil
}
func (f *faults) Resolve(_ context.Context, code, source, msg string) error {
	f.got = append(f.got, "resolve "+source+": "+msg)
	return nil
}

// TestFaultEvents: a component entering fault raises an event, leaving it
// resolves it; degraded alone and repeats do not.
func TestFaultEvents(t *testing.T) {
	ev := &faults{}
	tr, _ := newTracker(t, Options{Events: ev})
	tr.ReportCamera(summary.CameraHealth{ID: "front", FPS: 15})
	tr.ReportCamera(summary.CameraHealth{ID: "front", Error: "device vanished"})
	tr.ReportCamera(summary.CameraHealth{ID: "front", Error: "device vanished"})
	tr.Gallery().Report(Degraded, "no gallery imported")
	tr.ReportCamera(summary.CameraHealth{ID: "front", FPS: 15})
	want := []string{"raise camera/front: device vanished", "resolve camera/front: back to ok"}
	if strings.Join(ev.got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", ev.got, want)
	}
}
