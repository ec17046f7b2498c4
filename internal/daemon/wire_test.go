package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/console"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/outbox"
)

// TestConsoleAuditReachesOutbox types commands on the daemon's console
// socket: they are answered over the local API, each is audited as an
// MQTT audit event in the outbox (the broker is unreachable, so it
// stays there), the lane commands say no lane is running, and config show
// does not print the broker password.
func TestConsoleAuditReachesOutbox(t *testing.T) {
	dir := t.TempDir()
	cfg, bundleBytes := testConfig(t, dir, "tcp://127.0.0.1:1")
	bundlePath := filepath.Join(dir, "v1.bundle")
	if err := os.WriteFile(bundlePath, bundleBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Uplink.Username, cfg.Uplink.Password = "lane", "hunter2-broker-secret"
	d, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Version: "v-test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "the console socket", func() bool {
		c, err := net.Dial("unix", cfg.Console.Socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	cl, err := console.Dial(ctx, cfg.Console.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	exec := func(line string) (string, console.Done) {
		t.Helper()
		var out bytes.Buffer
		dn, err := cl.Exec(ctx, line, &out, func(console.File) error { return errors.New("no files here") })
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return out.String(), dn
	}
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{"status", "north", true},
		{"gallery info", "none", true},
		{"outbox", "depth", true},
		{"cameras", "no lane running", false},
		{"trigger test", "no lane running", false},
		{"config show", "north", true},
		{"gallery import " + bundlePath, "gallery 1", true},
	} {
		out, dn := exec(tc.line)
		if dn.OK != tc.ok || !strings.Contains(strings.ToLower(out+dn.Error), strings.ToLower(tc.want)) {
			t.Errorf("%s: ok %v, output %q %q; want ok %v and %q", tc.line, dn.OK, out, dn.Error, tc.ok, tc.want)
		}
		if strings.Contains(out+dn.Error, "hunter2") {
			t.Errorf("%s printed the broker password: %q", tc.line, out)
		}
	}

	// Every command is an audit event in the outbox.
	var audits []string
	waitFor(t, "the audit events", func() bool {
		ms, err := d.Outbox.Pending(1000)
		if err != nil {
			t.Fatal(err)
		}
		audits = audits[:0]
		for _, m := range ms {
			if m.Kind == outbox.KindEvent && bytes.Contains(m.Payload, []byte(`console.command`)) {
				audits = append(audits, string(m.Payload))
			}
		}
		return len(audits) >= 6
	})
	joined := strings.Join(audits, "\n")
	for _, want := range []string{`"status`, `"trigger test`, `"config show`, `"root"`, `"ok"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit events lack %s:\n%s", want, joined)
		}
	}
	// The import the console asked for names the console user.
	ms, _ := d.Outbox.Pending(1000)
	var imported bool
	for _, m := range ms {
		imported = imported || bytes.Contains(m.Payload, []byte(`"code":"gallery.import"`)) && bytes.Contains(m.Payload, []byte(`"actor":"console `+cl.Hello.User+` (socket uid=`))
	}
	if !imported {
		t.Errorf("no gallery.import event naming the console user among %d messages", len(ms))
	}
	// The console's events command lists them too.
	out, dn := exec("events")
	if !dn.OK || !strings.Contains(out, "config show") {
		t.Errorf("events: %v %q", dn.OK, out)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestLaneRoutesRegistered: a lane registered with Routes.SetLane answers
// the camera routes through the same client the console uses.
func TestLaneRoutesRegistered(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, "tcp://127.0.0.1:1")
	cfg.Console.Socket = "none"
	d, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler),
		Extra: []func(*Graph) (Component, error){func(g *Graph) (Component, error) {
			g.Routes.SetLane(fakeLane{})
			return idle{}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	b := localapi.NewClient(cfg.LocalAPI.Socket).Console()
	waitFor(t, "the local API", func() bool { _, err := b.Status(ctx); return err == nil })
	cams, err := b.Cameras(ctx)
	if err != nil || len(cams) != 1 || cams[0].Name != "front" {
		t.Fatalf("cameras: %+v %v", cams, err)
	}
	var n int
	err = b.Focus(ctx, "front", func(f console.FocusReading) error {
		n++
		if f.Sharp != float64(n) {
			t.Errorf("reading %d: %+v", n, f)
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "lens gone") || n != 3 {
		t.Errorf("focus: %d readings, %v; want 3 then the lane's error", n, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type idle struct{}

func (idle) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (idle) Close() error                  { return nil }

type fakeLane struct{}

func (fakeLane) Cameras(context.Context) ([]console.Camera, error) {
	return []console.Camera{{Name: "front", Device: "/dev/video0", FPS: 25}}, nil
}
func (fakeLane) SetControl(context.Context, string, string, int64) (console.Control, error) {
	return console.Control{}, nil
}
func (fakeLane) Snapshot(context.Context, string) (console.Snapshot, error) {
	return console.Snapshot{}, nil
}
func (fakeLane) Focus(ctx context.Context, cam string, fn func(console.FocusReading) error) error {
	for i := 1; i <= 3; i++ {
		if err := fn(console.FocusReading{At: time.Now(), Sharp: float64(i)}); err != nil {
			return err
		}
	}
	return errors.New("lens gone")
}
func (fakeLane) Sensors(context.Context) ([]console.Sensor, error)                  { return nil, nil }
func (fakeLane) WatchSensors(context.Context, func(console.SensorEdge) error) error { return nil }
func (fakeLane) TriggerTest(context.Context) (console.TestResult, error) {
	return console.TestResult{}, nil
}
