package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/localapi"
)

// TestDaemonProcess is `laned run` as a child process of
// TestGalleryStatusWithAndWithoutDaemon.
func TestDaemonProcess(t *testing.T) {
	if !lanedtest.IsChild("TestDaemonProcess") {
		t.Skip("child of TestGalleryStatusWithAndWithoutDaemon")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM) // as main does
	code := run(ctx, []string{"run", "--config", os.Getenv("LANED_TEST_CONFIG")}, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// TestGalleryStatusWithAndWithoutDaemon: `laned gallery status`, `gallery
// import` and `outbox status` open the files when no daemon runs, go
// through the local API of a running `laned run` process (which holds the
// files locked), and fall back to the files again once that process was
// killed with SIGKILL (its stale socket left behind).
func TestGalleryStatusWithAndWithoutDaemon(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	runOK(t, "gallery", "keygen", "--storage", "-o", p("store.key"))
	writeTemplates(t, p("t.jsonl"), 40, 1)
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("v1.bundle"), "--version", "1")
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("v2.bundle"), "--version", "2")
	socket := p("run/laned.sock")
	store := []string{"--db", p("state/gallery.db"), "--key-file", p("store.key"), "--socket", socket}
	trust := []string{"--trust", p("sign.key.pub")}

	// No daemon: the files.
	runOK(t, append(append([]string{"gallery", "import"}, append(store, trust...)...), p("v1.bundle"))...)
	out := runOK(t, append([]string{"gallery", "status"}, store...)...)
	if !strings.Contains(out, "gallery version 1, 40 subjects") || strings.Contains(out, "running daemon") {
		t.Fatalf("status without a daemon: %q", out)
	}

	// A daemon: the local API.
	cfg := fmt.Sprintf(`site: north
lane: L2
state_dir: %s
uplink: {brokers: ["tcp://127.0.0.1:1"]}
gallery: {key: {file: %s}, trust: [%s]}
localapi: {socket: %s, group: "-"}
health: {thermal: none}
`, p("state"), p("store.key"), p("sign.key.pub"), socket)
	if err := os.WriteFile(p("laned.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	runOK(t, "config", "check", p("laned.yaml"))
	child := lanedtest.StartChild(t, "TestDaemonProcess", "LANED_TEST_CONFIG="+p("laned.yaml"))
	c := localapi.NewClient(socket)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := c.GalleryStatus(context.Background()); err == nil && st.Version == "1" {
			break
		}
		select {
		case <-child.Exited():
			t.Fatalf("laned run exited: %v", child.Wait())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("laned run did not serve the local API with gallery version 1 in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out = runOK(t, append([]string{"gallery", "status"}, store...)...)
	if !strings.Contains(out, "gallery version 1, 40 subjects") || !strings.Contains(out, "served by the running daemon: 40 subjects matchable") {
		t.Fatalf("status with a daemon: %q", out)
	}
	// The files are the daemon's now: opening them directly is refused.
	runFail(t, "locked", append([]string{"gallery", "status", "--lock-timeout", "100ms"}, append(slices.Clone(store[:4]), "--socket", "none")...)...)
	out = runOK(t, append(append([]string{"gallery", "import"}, append(store, trust...)...), p("v2.bundle"))...)
	if !strings.Contains(out, "through the running daemon: gallery version 2") {
		t.Fatalf("import through the daemon: %q", out)
	}
	if out = runOK(t, append([]string{"gallery", "status"}, store...)...); !strings.Contains(out, "gallery version 2") {
		t.Fatalf("status after the import: %q", out)
	}
	if out = runOK(t, "outbox", "status", "--socket", socket); !strings.Contains(out, "outbox (running daemon)") {
		t.Fatalf("outbox status with a daemon: %q", out)
	}

	// kill -9: the stale socket is ignored and the files are read again.
	if err := child.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(socket); err != nil {
		t.Fatalf("expected the killed daemon's socket to be left behind: %v", err)
	}
	out = runOK(t, append([]string{"gallery", "status"}, store...)...)
	if !strings.Contains(out, "gallery version 2, 40 subjects") || strings.Contains(out, "running daemon") {
		t.Fatalf("status after the daemon was killed: %q", out)
	}
	if out = runOK(t, "outbox", "status", "--socket", socket, "--db", p("state/outbox.db")); !strings.Contains(out, "outbox ("+p("state/outbox.db")+")") {
		t.Fatalf("outbox status without a daemon: %q", out)
	}
	runFail(t, "no such file", "outbox", "status", "--socket", socket, "--db", p("state/typo.db"))
	if _, err := os.Stat(p("state/typo.db")); err == nil {
		t.Error("outbox status created a file at a mistyped path")
	}

	// SIGTERM: laned run stops in order, exits 0 and removes its socket.
	child = lanedtest.StartChild(t, "TestDaemonProcess", "LANED_TEST_CONFIG="+p("laned.yaml"))
	waitServing(t, child, c)
	if err := child.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("laned run after SIGTERM: %v, want exit 0", err)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("socket after a clean stop: %v", err)
	}
}

func waitServing(t *testing.T, child *lanedtest.Child, c *localapi.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Status(context.Background()); err == nil {
			return
		}
		select {
		case <-child.Exited():
			t.Fatalf("laned run exited: %v", child.Wait())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("laned run did not serve the local API in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
