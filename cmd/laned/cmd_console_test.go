package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/console"
)

func TestJoinLineRoundTrips(t *testing.T) {
	for _, args := range [][]string{
		{"status"}, {"gallery", "import", "/media/usb/lane 3.bundle"}, {"x", "it's", `a"b`, `c\d`, ""},
	} {
		got, err := console.Split(joinLine(args))
		if err != nil || strings.Join(got, "\x00") != strings.Join(args, "\x00") {
			t.Errorf("%q → %q → %q, %v", args, joinLine(args), got, err)
		}
	}
}

func TestCtlAgainstConsoleServe(t *testing.T) {
	dir, err := os.MkdirTemp("", "lanedctl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "c.sock")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() {
		served <- run(ctx, []string{"console", "serve", "--socket", sock, "--socket-group", "", "--users", filepath.Join(dir, "users")}, &bytes.Buffer{}, &serveErr)
	}()
	var out, errb bytes.Buffer
	for i := 0; ; i++ {
		out.Reset()
		errb.Reset()
		if run(context.Background(), []string{"ctl", "--socket", sock, "whoami"}, &out, &errb) == 0 {
			break
		}
		if i > 500 {
			t.Fatalf("ctl never connected: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "via socket uid=") {
		t.Errorf("whoami: %s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"ctl", "--socket", sock, "snapshot", "front"}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), "not reachable") {
		t.Errorf("snapshot without daemon: exit %d\n%s%s", code, out.String(), errb.String())
	}
	cancel()
	if code := <-served; code != 0 {
		t.Fatalf("console serve exit %d: %s", code, serveErr.String())
	}
	if !strings.Contains(serveErr.String(), "audit=command") || !strings.Contains(serveErr.String(), `command=whoami`) {
		t.Errorf("no audit lines from console serve:\n%s", serveErr.String())
	}
}
