package events

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
)

var t0 = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

func newEmitter(t *testing.T, o Options) (*Emitter, *outbox.Outbox, *clock.Fake) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	fc := clock.NewFake(t0)
	o.Site, o.Lane, o.Outbox, o.Clock, o.Log = "north", "L2", ob, fc, slog.New(slog.DiscardHandler)
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e, ob, fc
}

// events returns the events in the outbox, decoded, in order.
func events(t *testing.T, ob *outbox.Outbox) []*summary.Event {
	t.Helper()
	msgs, err := ob.Pending(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*summary.Event
	for _, m := range msgs {
		if m.Kind != outbox.KindEvent {
			t.Fatalf("kind %s", m.Kind)
		}
		v, err := summary.UnmarshalUnstamped(m.Payload)
		if err != nil {
			t.Fatalf("payload refused: %v: %s", err, m.Payload)
		}
		out = append(out, v.(*summary.Event))
	}
	return out
}

func codes(evs []*summary.Event) []string {
	var c []string
	for _, e := range evs {
		c = append(c, e.Code+"/"+e.Details["flaps"])
	}
	return c
}

func TestDedupAndFlapping(t *testing.T) {
	e, ob, fc := newEmitter(t, Options{FlapWindow: time.Minute})
	ctx := context.Background()
	cam := Fault{Code: "camera.lost", Source: "camera/front", Severity: Error, Message: "device vanished"}
	e.Raise(ctx, cam)
	e.Raise(ctx, cam) // still the same fault
	fc.Advance(10 * time.Second)
	e.Resolve(ctx, cam.Code, cam.Source, "device back")
	// It flaps: raise/resolve every 5 s, 6 times, then stays raised.
	for range 6 {
		fc.Advance(5 * time.Second)
		e.Raise(ctx, cam)
		fc.Advance(5 * time.Second)
		e.Resolve(ctx, cam.Code, cam.Source, "")
	}
	fc.Advance(5 * time.Second)
	e.Raise(ctx, cam)
	// Another source's fault is its own.
	e.Raise(ctx, Fault{Code: "camera.lost", Source: "camera/rear"})
	got := codes(events(t, ob))
	want := []string{"camera.lost/", "camera.lost.resolved/", "camera.lost/"}
	if !equal(got, want) {
		t.Fatalf("events during the streak %v, want %v", got, want)
	}
	fc.Advance(59 * time.Second)
	e.settle(ctx)
	if n := len(events(t, ob)); n != 3 {
		t.Fatalf("streak reported before it was quiet for the flap window: %d events", n)
	}
	fc.Advance(time.Second)
	e.settle(ctx)
	evs := events(t, ob)
	got = codes(evs)
	want = append(want, "camera.lost/13")
	if !equal(got, want) {
		t.Fatalf("after the streak settled %v, want %v", got, want)
	}
	last := evs[len(evs)-1]
	if last.Severity != "error" || last.Details["source"] != "camera/front" || last.Category != "fault" {
		t.Errorf("settled event %+v", last)
	}
	st := e.Stats()
	if st.Deduped != 1 || st.Flapping != 13 || st.Emitted != 4 {
		t.Errorf("stats %+v", st)
	}
	e.settle(ctx) // nothing more to say
	if len(events(t, ob)) != 4 {
		t.Error("settled twice")
	}
}

func TestRateLimitAndAudit(t *testing.T) {
	e, ob, fc := newEmitter(t, Options{Burst: 3, Refill: 10 * time.Second, FlapWindow: time.Minute})
	ctx := context.Background()
	for i := range 10 {
		e.Raise(ctx, Fault{Code: "sensor.stuck", Source: "sensor/" + string(rune('a'+i)), Severity: Warning})
	}
	if n := len(events(t, ob)); n != 3 {
		t.Fatalf("%d events past a burst of 3", n)
	}
	if err := e.Audit(ctx, Audit{Code: "gallery.import", Actor: "uid:1000", Message: "imported version 7"}); err != nil {
		t.Fatal(err)
	}
	if n := len(events(t, ob)); n != 4 {
		t.Fatalf("audit held back by the fault rate limit (%d events)", n)
	}
	fc.Advance(10 * time.Second)
	e.Raise(ctx, Fault{Code: "disk.low", Severity: Warning})
	evs := events(t, ob)
	if last := evs[len(evs)-1]; last.Code != "disk.low" || last.Details["rate_limited"] != "7" {
		t.Errorf("event after the limit: %+v", last)
	}
	// The held-back faults are reported by settle as tokens return, at
	// most a burst at a time.
	fc.Advance(2 * time.Minute)
	e.settle(ctx)
	if n := len(events(t, ob)); n != 5+3 {
		t.Errorf("%d events after the first settle, want a burst (3) more", n)
	}
	for range 3 {
		fc.Advance(30 * time.Second)
		e.settle(ctx)
	}
	sources := map[string]int{}
	for _, ev := range events(t, ob) {
		if ev.Code == "sensor.stuck" {
			sources[ev.Details["source"]]++
		}
	}
	if len(sources) != 10 {
		t.Errorf("sensor faults reported: %v, want each of the 10 once", sources)
	}
	for s, n := range sources {
		if n != 1 {
			t.Errorf("%s reported %d times", s, n)
		}
	}
}

func TestRefused(t *testing.T) {
	e, ob, _ := newEmitter(t, Options{})
	if err := e.Raise(context.Background(), Fault{Code: "Bad Code"}); err == nil {
		t.Error("invalid code accepted")
	}
	ob.Close()
	if err := e.Audit(context.Background(), Audit{Code: "console.login"}); err == nil {
		t.Error("closed outbox: no error")
	}
	if e.Stats().Failed != 2 {
		t.Errorf("stats %+v", e.Stats())
	}
}

func TestLifecycle(t *testing.T) {
	e, _, _ := newEmitter(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v", err)
	}
	go func() { done <- e.Run(context.Background()) }()
	e.Close()
	e.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run on Close: %v", err)
	}
	if _, err := New(Options{Site: "s", Lane: "l"}); err == nil {
		t.Error("New without an outbox")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
