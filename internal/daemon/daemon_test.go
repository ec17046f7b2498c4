package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

const (
	testModel = "test-model"
	testDim   = 16
)

// testConfig is a lane's configuration in dir, for a broker at url.
func testConfig(t *testing.T, dir, url string) (config.Config, []byte) {
	t.Helper()
	if _, err := bundle.GenerateKey(filepath.Join(dir, "sign.key")); err != nil {
		t.Fatal(err)
	}
	if err := store.GenerateKeyFile(filepath.Join(dir, "store.key")); err != nil {
		t.Fatal(err)
	}
	c := config.Config{Site: "north", Lane: "L2", StateDir: filepath.Join(dir, "state")}
	c.Uplink.Brokers = []string{url}
	c.Gallery.Key.File = filepath.Join(dir, "store.key")
	c.Gallery.Trust = []string{filepath.Join(dir, "sign.key.pub")}
	c.LocalAPI.Socket, c.LocalAPI.Group = filepath.Join(dir, "run", "laned.sock"), "-"
	c.Health.Interval, c.Health.Thermal = time.Second, "none"
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	priv, err := bundle.LoadPrivateKey(filepath.Join(dir, "sign.key"))
	if err != nil {
		t.Fatal(err)
	}
	b := lanedtest.Bundle(t, priv, 1, testModel, testDim, time.Now(), lanedtest.Subject{ID: "alice", Seed: 1}, lanedtest.Subject{ID: "bob", Seed: 2})
	return c, b
}

type sub struct {
	mu  sync.Mutex
	got map[string][][]byte // by topic leaf
}

func subscribe(t *testing.T, url, filter string) *sub {
	s := &sub{got: map[string][][]byte{}}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("office-daemon-test")
	o.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
			leaf := m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
			s.mu.Lock()
			s.got[leaf] = append(s.got[leaf], append([]byte(nil), m.Payload()...))
			s.mu.Unlock()
		})
	})
	cl := mqtt.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return s
}

func (s *sub) count(leaf string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got[leaf])
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDaemonEndToEnd builds the daemon's graph with a real broker, real
// bbolt files and the real local API: no gallery → degraded, an import
// through the API swaps version 1 in, health reports and the import's
// audit event reach the broker, and a cancel stops everything with nil.
func TestDaemonEndToEnd(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir := t.TempDir()
	cfg, bundleBytes := testConfig(t, dir, b.URL())
	office := subscribe(t, b.URL(), "laned/north/L2/+")
	d, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Version: "v-test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	c := localapi.NewClient(cfg.LocalAPI.Socket)
	waitFor(t, "the local API", func() bool { _, err := c.Status(ctx); return err == nil })
	waitFor(t, "the first gallery load", func() bool { st, _ := c.GalleryStatus(ctx); return st.Reason == "no gallery imported" })
	st, _ := c.GalleryStatus(ctx)
	if st.Version != "none" || st.Level != health.Degraded {
		t.Fatalf("before any gallery: %+v", st)
	}
	if f, err := d.Gallery.Search(make([]float32, testDim), 3); err != nil || len(f.Results) != 0 {
		t.Fatalf("search without a gallery: %+v %v", f, err)
	}
	if h, _ := c.Health(ctx); h.Level != health.Degraded {
		t.Errorf("health without a gallery: %s", h.Level)
	}
	m, err := c.GalleryImport(ctx, bytes.NewReader(bundleBytes))
	if err != nil || m.Version != 1 {
		t.Fatalf("import through the local API: %+v %v", m, err)
	}
	st, _ = c.GalleryStatus(ctx)
	if st.Version != "1" || st.Subjects != 2 || st.Level != health.OK {
		t.Fatalf("after the import: %+v", st)
	}
	waitFor(t, "a health report at the office", func() bool { return office.count("health") > 0 })
	waitFor(t, "the import's audit event at the office", func() bool { return office.count("events") > 0 })
	office.mu.Lock()
	ev, err := summary.Unmarshal(office.got["events"][0])
	h, herr := summary.Unmarshal(office.got["health"][len(office.got["health"])-1])
	office.mu.Unlock()
	if err != nil || herr != nil {
		t.Fatalf("payloads: %v %v", err, herr)
	}
	if e := ev.(*summary.Event); e.Code != "gallery.import" || e.Category != "audit" || !strings.HasPrefix(e.Actor, "uid:") {
		t.Errorf("event %+v", e)
	}
	if hh := h.(*summary.Health); hh.Site != "north" || hh.Gallery == nil {
		t.Logf("health %+v (gallery may be absent in a report made before the import)", hh)
	}
	ob, err := c.OutboxStatus(ctx)
	if err != nil || ob.Classes == nil {
		t.Errorf("outbox status %+v %v", ob, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run on cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(cfg.LocalAPI.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left: %v", err)
	}
	waitFor(t, "the offline status", func() bool {
		office.mu.Lock()
		defer office.mu.Unlock()
		s := office.got["status"]
		return len(s) > 0 && bytes.Contains(s[len(s)-1], []byte(`"offline"`))
	})
	// Stores closed: a new daemon opens them at once.
	d2, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	d2.Close()
}

// TestNewFailsCleanly: a bad dependency or file is an error naming it,
// and nothing stays open (the outbox can be opened again at once).
func TestNewFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, "tcp://127.0.0.1:1")
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("no model id: accepted")
	}
	bad := cfg
	bad.Gallery.Trust = []string{filepath.Join(dir, "missing.pub")}
	if _, err := New(bad, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), "gallery.trust") {
		t.Errorf("missing trust key: %v", err)
	}
	d, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("after a failed New, files still held: %v", err)
	}
	// A second daemon on the same files is refused (locked stores, live socket).
	if _, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler)}); err == nil {
		t.Error("second daemon on the same files")
	}
	d.Close()
}

// lastWord is an extra component (as the lane engine will be): on
// shutdown it commits one more message (the lane's open transaction).
type lastWord struct {
	g      *Graph
	err    error
	closed int
}

func (l *lastWord) Run(ctx context.Context) error {
	<-ctx.Done()
	b, err := summary.Marshal(&summary.Event{Header: summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindEvent},
		Site: "north", Lane: "L2", At: time.Now().UTC(), Category: "audit", Severity: "info", Code: "lane.stopped", Message: "open transaction closed"})
	if err == nil {
		_, err = l.g.Outbox.Enqueue(context.Background(), summary.KindEvent, b)
	}
	l.err = err
	return nil
}

func (l *lastWord) Close() error { l.closed++; return nil }

// TestOrderedShutdown: a component injected through Deps.Extra is built
// from the graph, run with it, stopped on cancel while the outbox is still
// open (its last message is committed) and closed once.
func TestOrderedShutdown(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, "tcp://127.0.0.1:1")
	lw := &lastWord{}
	d, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler),
		Extra: []func(*Graph) (Component, error){func(g *Graph) (Component, error) { lw.g = g; return lw, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	c := localapi.NewClient(cfg.LocalAPI.Socket)
	waitFor(t, "the local API", func() bool { _, err := c.Status(ctx); return err == nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if lw.err != nil {
		t.Fatalf("the extra component's last message was refused: the core stopped first: %v", lw.err)
	}
	d.Close()
	if lw.closed != 1 {
		t.Errorf("extra closed %d times", lw.closed)
	}
	ob, err := outbox.Open(cfg.Outbox.Path, outbox.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if ob.Stats().Classes[summary.KindEvent].Count != 1 {
		t.Errorf("outbox after shutdown: %+v", ob.Stats().Classes)
	}
}
