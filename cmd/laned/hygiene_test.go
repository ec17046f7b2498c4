package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runWithin runs laned args in-process and fails the test if it does not
// return within a hang guard (not a timing: the bugs here block for ever).
func runWithin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), args, &out, &errb) }()
	select {
	case code = <-done:
		return code, out.String(), errb.String()
	case <-time.After(10 * time.Second):
		t.Fatalf("laned %s blocked", strings.Join(args, " "))
	}
	return
}

// TestSpecialFileArguments: a FIFO, a device node and a directory given
// where a file is read give an error naming the file type at once.
func TestSpecialFileArguments(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "bundle.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	for _, c := range []struct {
		file, want string
	}{{fifo, "FIFO"}, {"/dev/zero", "character device"}, {dir, "directory"}} {
		for _, args := range [][]string{
			{"gallery", "inspect", c.file},
			{"gallery", "inspect", "--trust", c.file, p("sign.key.pub")},
			{"gallery", "build", "--from-templates", c.file, "--key", p("sign.key"), "-o", p("out.bundle")},
			{"gallery", "build", "--from-templates", p("none.jsonl"), "--key", c.file, "-o", p("out.bundle")},
			{"gallery", "import", "--trust", p("sign.key.pub"), "--db", p("g.db"), "--key-file", c.file, p("sign.key.pub")},
			{"tail", "--broker", "ssl://127.0.0.1:1", "--ca", c.file},
		} {
			code, _, stderr := runWithin(t, args...)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("laned %s: exit %d, stderr %q does not say %q", strings.Join(args, " "), code, stderr, c.want)
			}
		}
	}
}

// TestDoubleDashEndsFlags: after "--" an argument that starts with "-" is
// a file name, not a flag.
func TestDoubleDashEndsFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, stderr := runWithin(t, "gallery", "inspect", "--", "-odd.bundle")
	if code != 1 || !strings.Contains(stderr, "-odd.bundle: no such file") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestGalleryStatusCreatesNothing: a mistyped --db is an error, and no
// store (nor its folder) is created.
func TestGalleryStatusCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	runOK(t, "gallery", "keygen", "--storage", "-o", filepath.Join(dir, "store.key"))
	db := filepath.Join(dir, "typo", "gallery.db")
	code, _, stderr := runWithin(t, "gallery", "status", "--db", db, "--key-file", filepath.Join(dir, "store.key"))
	if code == 0 || !strings.Contains(stderr, db) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !os.IsNotExist(err) {
		t.Errorf("status created %s (%v)", filepath.Join(dir, "typo"), err)
	}
}

func init() {
	// A command that ignores its context, standing for one stuck in a
	// system call: only the second Ctrl-C can end it.
	register(&command{Name: "test-stuck", Short: "(tests only)", Setup: func(*flag.FlagSet) runFunc {
		return func(ctx context.Context, e *env, args []string) error {
			os.Stdout.WriteString("stuck\n")
			select {}
		}
	}})
}

// TestSecondInterruptExits: the first SIGINT cancels the command's
// context; a second one ends the process at once with status 130.
func TestSecondInterruptExits(t *testing.T) {
	if os.Getenv("LANED_TEST_MAIN") != "" {
		os.Args = append([]string{"laned"}, strings.Fields(os.Getenv("LANED_TEST_MAIN"))...)
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondInterruptExits$")
	cmd.Env = append(os.Environ(), "LANED_TEST_MAIN=test-stuck")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "stuck\n" {
		t.Fatalf("child: %q %v", buf, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	cmd.Process.Signal(os.Interrupt)
	time.Sleep(100 * time.Millisecond) // two separate presses, not one
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Errorf("child ended with %v, want exit status 130", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("two SIGINTs did not end a stuck command")
	}
}

// TestTrustKeyWritableByOthers: a trust key that group or others may
// rewrite is refused (whoever rewrites it decides which galleries a lane
// accepts).
func TestTrustKeyWritableByOthers(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	writeTemplates(t, p("t.jsonl"), 3, 1)
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("g.bundle"))
	runOK(t, "gallery", "inspect", "--trust", p("sign.key.pub"), p("g.bundle"))
	for _, mode := range []os.FileMode{0o666, 0o664, 0o646} {
		if err := os.Chmod(p("sign.key.pub"), mode); err != nil {
			t.Fatal(err)
		}
		runFail(t, "lets group or others write", "gallery", "inspect", "--trust", p("sign.key.pub"), p("g.bundle"))
	}
}

// TestDetectFlagValues: out-of-range detector flags are usage errors
// before any model is opened (--max-tiles -1 used to loop for ever).
func TestDetectFlagValues(t *testing.T) {
	img := filepath.Join("..", "..", "testdata", "images", "none.jpg")
	for _, c := range []struct{ flag, val, want string }{
		{"--max-tiles", "-1", "--max-tiles -1"},
		{"--max-tiles", "0", "--max-tiles 0"},
		{"--max-tiles", "100000", "--max-tiles 100000"},
		{"--min-score", "1.5", "--min-score 1.5"},
		{"--min-score", "NaN", "--min-score NaN"},
		{"--min-face", "-7", "--min-face -7"},
	} {
		code, _, stderr := runWithin(t, "detect", c.flag, c.val, img)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("detect %s %s: exit %d, stderr %q", c.flag, c.val, code, stderr)
		}
	}
}
