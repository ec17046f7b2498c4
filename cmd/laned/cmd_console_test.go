package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

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

// TestHelperProcess runs laned's main in a child process (the interactive
// console needs a real terminal on its stdin).
func TestHelperProcess(t *testing.T) {
	if os.Getenv("LANED_HELPER_PROCESS") != "1" {
		t.Skip("helper process for TestInteractiveConsoleHistory")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
}

func TestInteractiveConsoleHistory(t *testing.T) {
	dir, err := os.MkdirTemp("", "lanedcon")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "c.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go run(ctx, []string{"console", "serve", "--socket", sock, "--socket-group", "", "--users", filepath.Join(dir, "u")}, &bytes.Buffer{}, &bytes.Buffer{})
	for i := 0; ; i++ {
		if c, err := console.Dial(ctx, sock); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			t.Fatal("console serve did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "console", "--socket", sock)
	cmd.Env = append(os.Environ(), "LANED_HELPER_PROCESS=1")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string, count int) {
		t.Helper()
		for i := 0; i < 1000; i++ {
			mu.Lock()
			n := strings.Count(out.String(), s)
			mu.Unlock()
			if n >= count {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("want %d × %q in:\n%q", count, s, out.String())
	}
	waitFor("@laned# ", 1)
	tty.Write([]byte("whoami\r"))
	waitFor("(technician) via socket", 1)
	tty.Write([]byte("\x1b[A\r")) // up arrow: the last line again
	waitFor("(technician) via socket", 2)
	tty.Write([]byte("stat\x03")) // Ctrl-C clears the half-typed line
	tty.Write([]byte("help whoami\r"))
	waitFor("role: viewer", 1)
	tty.Write([]byte("\x04")) // Ctrl-D leaves
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("console exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("Ctrl-D did not end the console")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(out.String(), "unknown command \"stat") {
		t.Errorf("the cleared line ran:\n%s", out.String())
	}
}
