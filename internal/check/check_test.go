package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/models"
)

func runCheck(t *testing.T, c Check) Result {
	t.Helper()
	return Run(context.Background(), []Check{c}, 10*time.Second)[0]
}

func wantFail(t *testing.T, r Result, names ...string) {
	t.Helper()
	if r.OK {
		t.Fatalf("%s passed (%s), want a failure naming %q", r.Name, r.Detail, names)
	}
	for _, n := range names {
		if !strings.Contains(r.Detail, n) {
			t.Errorf("%s failure %q does not name %q", r.Name, r.Detail, n)
		}
	}
}

func wantPass(t *testing.T, r Result) {
	t.Helper()
	if !r.OK {
		t.Fatalf("%s failed: %s", r.Name, r.Detail)
	}
}

// mirror links every file of src into a new directory, so one can be
// replaced without touching the cache.
func mirror(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755)
		return os.Symlink(p, filepath.Join(dst, rel))
	})
	return dst
}

func TestModels(t *testing.T) {
	dir := lanedtest.ModelDir(t)
	if _, err := os.Stat(filepath.Join(dir, "face_recognition.onnx")); err != nil {
		t.Skip("recognition model not converted")
	}
	wantPass(t, runCheck(t, Models(dir)))

	altered := mirror(t, dir)
	f := filepath.Join(altered, "blazeface", "face_detection_front_128x128_barracuda.onnx")
	b, _ := os.ReadFile(f)
	b[len(b)/2] ^= 0xff
	os.Remove(f)
	os.WriteFile(f, b, 0o644)
	wantFail(t, runCheck(t, Models(altered)), "face_detection_front_128x128_barracuda.onnx", "altered")

	missing := mirror(t, dir)
	os.Remove(filepath.Join(missing, "face_recognition.onnx"))
	wantFail(t, runCheck(t, Models(missing)), "face_recognition.onnx", models.ErrNotFetched.Error())
}

func TestDiskSpace(t *testing.T) {
	dir := t.TempDir()
	wantPass(t, runCheck(t, DiskSpace(dir, 1)))
	wantFail(t, runCheck(t, DiskSpace(dir, 1<<62)), dir, "want at least 4.0 EiB")
	wantFail(t, runCheck(t, DiskSpace("/nonexistent/laned", 1)), "/nonexistent/laned")
}

func TestClockSkew(t *testing.T) {
	synced := func() (bool, time.Duration, error) { return true, 20 * time.Millisecond, nil }
	wantPass(t, runCheck(t, ClockSkew(time.Second, synced, nil)))
	wantFail(t, runCheck(t, ClockSkew(time.Second, func() (bool, time.Duration, error) { return false, 0, nil }, nil)), "not synchronised")
	wantFail(t, runCheck(t, ClockSkew(time.Second, func() (bool, time.Duration, error) { return true, 16 * time.Second, nil }, nil)), "error estimate 16s")
	ref := func(context.Context) (time.Time, error) { return time.Now().Add(-10 * time.Second), nil }
	wantFail(t, runCheck(t, ClockSkew(time.Second, synced, ref)), "off the reference")
	ok := func(context.Context) (time.Time, error) { return time.Now(), nil }
	wantPass(t, runCheck(t, ClockSkew(time.Second, synced, ok)))
	// The real kernel answers (synchronised or not, it must not error).
	if _, _, err := Adjtimex(); err != nil {
		t.Fatalf("adjtimex: %v", err)
	}
}

func TestWritable(t *testing.T) {
	dir := t.TempDir()
	wantPass(t, runCheck(t, Writable("outbox writable", dir)))
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	wantFail(t, runCheck(t, Writable("outbox writable", file)), file, "not a directory")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		wantFail(t, runCheck(t, Writable("outbox writable", fifo)), fifo, "not a directory")
	}
	wantFail(t, runCheck(t, Writable("outbox writable", filepath.Join(dir, "none"))), filepath.Join(dir, "none"))
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		wantFail(t, runCheck(t, Writable("outbox writable", ro)), ro, "not writable")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 && len(ents) != 3 {
		t.Errorf("check left files behind: %v", ents)
	}
}

func TestWatchdogOfDaemon(t *testing.T) {
	start := func(env ...string) int {
		cmd := exec.Command("sleep", "30")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// Until exec, /proc/PID/environ is still the test's own.
		for i := 0; i < 500; i++ {
			if b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "environ")); bytes.Contains(b, []byte("PATH=/usr/bin:/bin\x00")) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		return cmd.Process.Pid
	}
	armed := start("WATCHDOG_USEC=20000000", "PATH=/usr/bin:/bin")
	r := runCheck(t, Watchdog(WatchdogOfPID(func(context.Context) (int, error) { return armed, nil })))
	wantPass(t, r)
	if !strings.Contains(r.Detail, "WatchdogSec=20s") {
		t.Errorf("detail %q", r.Detail)
	}
	bare := start("PATH=/usr/bin:/bin")
	wantFail(t, runCheck(t, Watchdog(WatchdogOfPID(func(context.Context) (int, error) { return bare, nil }))), "without WATCHDOG_USEC")
	wantFail(t, runCheck(t, Watchdog(WatchdogOfPID(func(context.Context) (int, error) { return 0, errors.New("laned.service is not running") }))), "not running")
	t.Setenv("WATCHDOG_USEC", "bogus")
	wantFail(t, runCheck(t, Watchdog(WatchdogFromEnv)), `WATCHDOG_USEC="bogus"`)
}

func TestRunIsolatesPanicsAndTimeouts(t *testing.T) {
	rs := Run(context.Background(), []Check{
		{Name: "boom", Run: func(context.Context) (string, error) { panic("camera driver") }},
		{Name: "slow", Run: func(ctx context.Context) (string, error) {
			<-ctx.Done()
			time.Sleep(time.Millisecond)
			return "late", nil
		}},
		{Name: "fine", Run: func(context.Context) (string, error) { return "ok", nil }},
	}, 50*time.Millisecond)
	if rs[0].OK || !strings.Contains(rs[0].Detail, "panicked: camera driver") || rs[1].OK || !strings.Contains(rs[1].Detail, "no answer within 50ms") || !rs[2].OK {
		t.Fatalf("%+v", rs)
	}
	var table, js bytes.Buffer
	WriteTable(&table, rs)
	if !strings.Contains(table.String(), "FAIL  boom") || !strings.Contains(table.String(), "PASS  fine") || !strings.Contains(table.String(), "2 of 3 checks failed: boom, slow") {
		t.Errorf("table:\n%s", table.String())
	}
	WriteJSON(&js, rs, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	var rep Report
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil || rep.OK || len(rep.Failed) != 2 || rep.Failed[0] != "boom" || len(rep.Checks) != 3 {
		t.Fatalf("json %v: %s", err, js.String())
	}
}
