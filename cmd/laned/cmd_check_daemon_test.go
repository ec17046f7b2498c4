package main

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// linkModels makes dir a model directory of symbolic links to the real
// one, except file (a relative path), which is copied so that the test
// may alter it.
func linkModels(t *testing.T, dir, file string) {
	t.Helper()
	src, err := models.Dir()
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case filepath.ToSlash(rel) == file:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		default:
			return os.Symlink(p, dst)
		}
	})
	if err != nil {
		t.Skipf("no model directory to check against: %v", err)
	}
}

// TestCheckThroughDaemon: with a `laned run` child serving, `laned check`
// runs the daemon's own table (gallery, broker, outbox, watchdog, models)
// through the local API: it passes with a gallery imported and the broker
// up, fails naming "models" when a model file was altered and "broker"
// when the broker is down. The child tells a fake systemd READY, and
// `laned ctl` reaches the daemon's console socket.
func TestCheckThroughDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts mosquitto and a laned run child")
	}
	if !mosquittotest.Available() {
		t.Skip("mosquitto not installed")
	}
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	const altered = "blazeface/face_detection_front_128x128_barracuda.onnx"
	linkModels(t, p("models"), altered)
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	runOK(t, "gallery", "keygen", "--storage", "-o", p("store.key"))
	writeTemplates(t, p("t.jsonl"), 12, 1)
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("v1.bundle"), "--version", "1")
	socket, consoleSock := p("run/laned.sock"), p("run/console.sock")
	cfg := "site: north\nlane: L2\nstate_dir: " + p("state") + "\nuplink: {brokers: [\"" + b.URL() + "\"]}\n" +
		"gallery: {key: {file: " + p("store.key") + "}, trust: [" + p("sign.key.pub") + "]}\n" +
		"localapi: {socket: " + socket + ", group: \"-\"}\nconsole: {socket_group: \"-\"}\nhealth: {thermal: none, disk_min_free: 1048576}\n"
	if err := os.WriteFile(p("laned.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("notify.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	child := lanedtest.StartChild(t, "TestDaemonProcess", "LANED_TEST_CONFIG="+p("laned.yaml"),
		"LANED_MODEL_DIR="+p("models"), "NOTIFY_SOCKET="+p("notify.sock"), "WATCHDOG_USEC=10000000")
	defer child.Signal(syscall.SIGTERM)
	waitServing(t, child, localapi.NewClient(socket))
	notify.SetReadDeadline(time.Now().Add(30 * time.Second))
	for buf := make([]byte, 4096); ; {
		n, err := notify.Read(buf)
		if err != nil {
			t.Fatalf("no READY=1 from laned run: %v", err)
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			break
		}
	}
	chk := []string{"check", "--socket", socket, "--skip", "clock"} // this machine's clock may not be synchronised

	// No gallery yet: the gallery row fails.
	runFail(t, "gallery", chk...)
	runOK(t, "gallery", "import", "--socket", socket, "--db", p("state/gallery.db"), "--key-file", p("store.key"), "--trust", p("sign.key.pub"), p("v1.bundle"))
	out := runOK(t, chk...)
	t.Logf("laned check through the daemon:\n%s", out)
	for _, want := range []string{"gallery", "gallery 1, 12 subjects", "broker", "outbox writable", "systemd watchdog", "armed", "models"} {
		if !strings.Contains(out, want) {
			t.Errorf("laned check output lacks %q:\n%s", want, out)
		}
	}
	if out := runOK(t, "ctl", "--socket", consoleSock, "gallery", "info"); !strings.Contains(out, "gallery 1  subjects 12") {
		t.Errorf("laned ctl gallery info: %q", out)
	}

	// A model file altered on disk.
	f, err := os.OpenFile(p("models/"+altered), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0x5a}, 1000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	runFail(t, "models", chk...)
	if err := os.Remove(p("models/" + altered)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(mustModelDir(t), altered), p("models/"+altered)); err != nil {
		t.Fatal(err)
	}
	runOK(t, chk...)

	// The broker down.
	b.Stop()
	runFail(t, "broker", chk...)
}

func mustModelDir(t *testing.T) string {
	d, err := models.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
