package localapi

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/console"
)

// fakeOps answers a few routes; the rest are the offline backend's.
type fakeOps struct{ *console.Offline }

func (fakeOps) Status(context.Context) (console.Status, error) {
	return console.Status{Version: "v-ops", State: "ok"}, nil
}

func (fakeOps) Config(context.Context) (map[string]any, error) {
	return map[string]any{"uplink": map[string]any{"password": "s3cret", "username": "lane"}}, nil
}

func (fakeOps) LogTail(_ context.Context, n int, _ bool, fn func(string) error) error {
	for i := range n {
		if err := fn(strings.Repeat("x", i)); err != nil {
			return err
		}
	}
	return errors.New("journal gone")
}

func serveOps(t *testing.T) (*Server, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	s, err := New(Options{Socket: sock, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.ServeOps(fakeOps{&console.Offline{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, sock
}

func TestOpsRoutes(t *testing.T) {
	_, sock := serveOps(t)
	b := NewClient(sock).Console()
	ctx := context.Background()
	if st, err := b.Status(ctx); err != nil || st.Version != "v-ops" {
		t.Errorf("status: %+v %v", st, err)
	}
	cfg, err := b.Config(ctx)
	if err != nil || cfg["uplink"].(map[string]any)["password"] == "s3cret" || cfg["uplink"].(map[string]any)["username"] != "lane" {
		t.Errorf("config: %v %v (the password must be redacted, the user name not)", cfg, err)
	}
	var lines []string
	err = b.LogTail(ctx, 3, false, func(l string) error { lines = append(lines, l); return nil })
	if len(lines) != 3 || lines[2] != "xx" || err == nil || !strings.Contains(err.Error(), "journal gone") {
		t.Errorf("log tail: %q %v; want 3 lines then the daemon's error", lines, err)
	}
	for name, call := range map[string]func() error{
		"cameras":      func() error { _, err := b.Cameras(ctx); return err },
		"trigger test": func() error { _, err := b.TriggerTest(ctx); return err },
		"sensors watch": func() error {
			return b.WatchSensors(ctx, func(console.SensorEdge) error { return nil })
		},
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "no lane running") {
			t.Errorf("%s without a lane: %v", name, err)
		}
	}
}

// TestFallback: with the daemon serving, its answers; with none, the
// offline backend's; any other failure is not hidden by the fallback.
func TestFallback(t *testing.T) {
	_, sock := serveOps(t)
	ctx := context.Background()
	off := &console.Offline{}
	f := Fallback{Daemon: NewClient(sock).Console(), Offline: off}
	if st, _ := f.Status(ctx); st.Version != "v-ops" {
		t.Errorf("status with the daemon: %+v", st)
	}
	f = Fallback{Daemon: NewClient(filepath.Join(t.TempDir(), "none.sock")).Console(), Offline: off}
	if st, _ := f.Status(ctx); st.State != "daemon not reachable" {
		t.Errorf("status without a daemon: %+v", st)
	}
	if _, err := f.Cameras(ctx); !errors.Is(err, console.ErrNoDaemon) {
		t.Errorf("cameras without a daemon: %v", err)
	}
}
