package localapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/outbox"
)

type fakeGallery struct {
	mu     sync.Mutex
	actor  string
	got    []byte
	refuse bool
}

func (f *fakeGallery) Status() active.Status {
	return active.Status{Version: "7", Subjects: 40, Level: health.OK}
}

func (f *fakeGallery) Import(_ context.Context, r io.Reader, actor string) (*bundle.Manifest, error) {
	b, err := io.ReadAll(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actor, f.got = actor, b
	if err != nil {
		return nil, err
	}
	if f.refuse {
		return nil, errors.New("gallery: import: bundle signature invalid")
	}
	return &bundle.Manifest{Version: 8, ResultCount: 41}, nil
}

type fakeOutbox struct{}

func (fakeOutbox) Stats() outbox.Stats {
	return outbox.Stats{Count: 3, Classes: map[outbox.Kind]outbox.ClassStats{outbox.KindSummary: {Count: 3}}}
}

type fakeHealth struct{}

func (fakeHealth) Snapshot() health.Snapshot {
	return health.Snapshot{Level: health.Degraded, Components: []health.Component{{Name: "gallery", Level: health.Degraded, Reason: "no gallery imported"}}}
}

func serve(t *testing.T, o Options) (*Server, *Client) {
	t.Helper()
	if o.Socket == "" {
		o.Socket = filepath.Join(t.TempDir(), "run", "laned.sock")
	}
	o.Log = slog.New(slog.DiscardHandler)
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, NewClient(o.Socket)
}

func TestRoutes(t *testing.T) {
	g := &fakeGallery{}
	s, c := serve(t, Options{Version: "v-test", Gallery: g, Outbox: fakeOutbox{}, Health: fakeHealth{}})
	ctx := context.Background()
	fi, err := os.Stat(s.Socket())
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket %v %v", fi.Mode(), err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Version != "v-test" || st.PID != os.Getpid() {
		t.Errorf("status %+v %v", st, err)
	}
	gs, err := c.GalleryStatus(ctx)
	if err != nil || gs.Version != "7" || gs.Subjects != 40 {
		t.Errorf("gallery status %+v %v", gs, err)
	}
	ob, err := c.OutboxStatus(ctx)
	if err != nil || ob.Count != 3 || ob.Classes[outbox.KindSummary].Count != 3 {
		t.Errorf("outbox %+v %v", ob, err)
	}
	h, err := c.Health(ctx)
	if err != nil || h.Level != health.Degraded || h.Components[0].Reason != "no gallery imported" {
		t.Errorf("health %+v %v", h, err)
	}
	m, err := c.GalleryImport(ctx, strings.NewReader("bundle bytes"))
	if err != nil || m.Version != 8 {
		t.Fatalf("import %+v %v", m, err)
	}
	if g.actor != "uid:"+strconv.Itoa(os.Getuid()) || string(g.got) != "bundle bytes" {
		t.Errorf("import saw actor %q (peer credentials), body %q", g.actor, g.got)
	}
	g.refuse = true
	if _, err := c.GalleryImport(ctx, strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "daemon: gallery: import: bundle signature invalid") {
		t.Errorf("refused import: %v", err)
	}
}

func TestImportTooLarge(t *testing.T) {
	_, c := serve(t, Options{Gallery: &fakeGallery{}, MaxImport: 10})
	if _, err := c.GalleryImport(context.Background(), bytes.NewReader(make([]byte, 100))); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversize import: %v", err)
	}
}

func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := NewClient(filepath.Join(dir, "none.sock")).GalleryStatus(ctx); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("missing socket: %v", err)
	}
	// A socket left by a daemon that died: nobody accepts.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := NewClient(stale).GalleryStatus(ctx); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("stale socket: %v", err)
	}
	// A new daemon replaces the stale socket...
	_, c := serve(t, Options{Socket: stale})
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GalleryStatus(ctx); err == nil || !strings.Contains(err.Error(), "no gallery in this daemon") {
		t.Errorf("no gallery: %v", err)
	}
	// ...but not a live one, nor a file that is not a socket.
	if _, err := New(Options{Socket: stale, Log: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), "another laned") {
		t.Errorf("second daemon on a live socket: %v", err)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	if _, err := New(Options{Socket: plain, Log: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file as socket: %v", err)
	}
	if _, err := New(Options{Socket: filepath.Join(dir, "g.sock"), Group: "no-such-group-laned"}); err == nil {
		t.Error("unknown group accepted")
	}
}

func TestLifecycle(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.sock")
	s, err := New(Options{Socket: p, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	waitServing(t, p)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	s2, _ := New(Options{Socket: p, Log: slog.New(slog.DiscardHandler)})
	s2.Close() // before Run
	s2.Close()
}

func waitServing(t *testing.T, p string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := NewClient(p).Status(context.Background()); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not serving")
		}
		time.Sleep(time.Millisecond)
	}
}
