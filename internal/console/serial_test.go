package console

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/laned/laned/internal/clock"
)

// cheap argon2id costs for tests; production uses DefaultParams.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	tomPassword  = "correct horse battery"
	veraPassword = "viewer-only-pass"
)

func writeUsers(t testing.TB) *Users {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console-users")
	u, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Set("tom", RoleTechnician, tomPassword, testParams); err != nil {
		t.Fatal(err)
	}
	if err := u.Set("vera", RoleViewer, veraPassword, testParams); err != nil {
		t.Fatal(err)
	}
	u, err = LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ptyConsole is a serial console served on the slave side of a
// pseudo-terminal, opened with go.bug.st/serial; the test types on the
// master side like a technician's laptop on the cable.
type ptyConsole struct {
	t       *testing.T
	master  *os.File
	clk     *clock.Fake
	fb      *fakeBackend
	mem     *MemoryAuditor
	journal *syncBuf
	srv     *Server

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output consumed by expect
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startPTY(t *testing.T) *ptyConsole {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	dev := slave.Name()
	port, closePort, err := OpenSerial(dev, 115200)
	if err != nil {
		t.Fatalf("go.bug.st/serial on %s: %v", dev, err)
	}
	slave.Close()
	pc := &ptyConsole{t: t, master: master, clk: clock.NewFake(t0), fb: &fakeBackend{edges: make(chan SensorEdge)},
		mem: &MemoryAuditor{}, journal: &syncBuf{}}
	audit := MultiAuditor{pc.mem, SlogAuditor{Log: slog.New(slog.NewJSONHandler(pc.journal, nil))}}
	redact := NewRedactor(fakeBrokerPassword, fakeGalleryKey, tomPassword, veraPassword)
	in, err := NewInterpreter(pc.fb, audit, pc.clk, redact)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Socket = ""
	pc.srv, err = NewServer(cfg, Deps{Interp: in, Users: writeUsers(t), Audit: audit, Clock: pc.clk})
	if err != nil {
		t.Fatal(err)
	}
	pc.srv.poll = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- pc.srv.ServeSerial(ctx, port, dev) }()
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			pc.mu.Lock()
			pc.out.Write(buf[:n])
			pc.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeSerial: %v", err)
		}
		closePort()
		master.Close()
		<-read
	})
	return pc
}

// expect waits for want in the output not yet consumed and consumes up to
// its end.
func (pc *ptyConsole) expect(want string) string {
	pc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pc.mu.Lock()
		rest := pc.out.String()[pc.seen:]
		if i := strings.Index(rest, want); i >= 0 {
			pc.seen += i + len(want)
			pc.mu.Unlock()
			return rest[:i+len(want)]
		}
		pc.mu.Unlock()
		if time.Now().After(deadline) {
			pc.t.Fatalf("no %q in serial output; unread:\n%q", want, rest)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (pc *ptyConsole) all() string {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.out.String()
}

func (pc *ptyConsole) typeLine(s string) {
	pc.t.Helper()
	if _, err := pc.master.Write([]byte(s + "\r")); err != nil {
		pc.t.Fatal(err)
	}
}

func (pc *ptyConsole) login(user, pw string) {
	pc.t.Helper()
	pc.expect("login: ")
	pc.typeLine(user)
	pc.expect("password: ")
	pc.typeLine(pw)
}

// waitPending waits until the server sleeps on the fake clock.
func (pc *ptyConsole) waitPending(n int) {
	pc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pc.clk.Pending() < n {
		if time.Now().After(deadline) {
			pc.t.Fatalf("server never waited on the clock")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestSerialLoginRolesAndAudit(t *testing.T) {
	pc := startPTY(t)
	pc.login("vera", veraPassword)
	pc.expect("logged in as vera (viewer)")
	pc.expect("vera@laned> ")
	pc.typeLine("status")
	got := pc.expect("vera@laned> ")
	if !strings.Contains(got, "up 1h30m0s\r\n") {
		t.Errorf("status over serial (want CRLF lines):\n%q", got)
	}
	pc.typeLine("snapshot front")
	pc.expect("permission denied: 'snapshot' needs the technician role (you are viewer)")
	pc.expect("vera@laned> ")
	pc.typeLine("trigger test")
	pc.expect("permission denied: 'trigger test' needs the technician role")
	pc.expect("vera@laned> ")
	pc.typeLine("config show")
	got = pc.expect("vera@laned> ")
	if !strings.Contains(got, "password: "+Redacted) {
		t.Errorf("config show:\n%s", got)
	}
	pc.typeLine("logout")
	pc.expect("bye")

	pc.login("tom", tomPassword)
	pc.expect("tom@laned# ")
	pc.typeLine("trigger test")
	pc.expect("test vehicle tx-test-1")
	pc.typeLine("snapshot front")
	pc.expect("image not sent")
	pc.typeLine("sensors watch")
	pc.expect("arrival")
	pc.typeLine("q") // any key stops a stream
	pc.expect("tom@laned# ")
	pc.typeLine("exit")
	pc.expect("bye")
	pc.expect("login: ")

	for _, c := range pc.fb.Calls() {
		if c == "Snapshot" && strings.Count(strings.Join(pc.fb.Calls(), ","), "Snapshot") != 1 {
			t.Errorf("snapshot ran for the viewer: %v", pc.fb.Calls())
		}
	}
	if n := strings.Count(strings.Join(pc.fb.Calls(), ","), "TriggerTest"); n != 1 {
		t.Errorf("TriggerTest ran %d times, want 1 (technician only)", n)
	}
	out := pc.all()
	for _, sec := range []string{tomPassword, veraPassword, fakeBrokerPassword, fakeGalleryKey} {
		if strings.Contains(out, sec) || strings.Contains(pc.journal.String(), sec) {
			t.Errorf("secret %q in serial output or journal", sec)
		}
	}
	// The journal has one line per login, command and logout.
	j := pc.journal.String()
	for _, want := range []string{
		`"audit":"login","user":"vera","role":"viewer","transport":"serial /dev/pts/`,
		`"audit":"command","user":"vera","role":"viewer"`, `"result":"denied","command":"snapshot front"`,
		`"audit":"command","user":"tom","role":"technician"`, `"result":"ok","command":"trigger test"`,
		`"audit":"logout","user":"tom"`,
	} {
		if !strings.Contains(j, want) {
			t.Errorf("journal lacks %s:\n%s", want, j)
		}
	}
}

func TestSerialLockoutWithGrowingDelay(t *testing.T) {
	pc := startPTY(t)
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		pc.login("tom", "wrong-password-"+string(rune('a'+i)))
		pc.expect("login incorrect")
		pc.waitPending(1)
		// Just before the delay the server still waits; at it, it prompts.
		pc.clk.Advance(want - time.Millisecond)
		if pc.clk.Pending() != 1 {
			t.Fatalf("failure %d: delay shorter than %s", i+1, want)
		}
		pc.clk.Advance(time.Millisecond)
	}
	pc.login("tom", "wrong-password-e")
	pc.expect("login incorrect")
	pc.expect("console locked after 5 failed logins; try again in 15m0s")
	pc.waitPending(1)
	pc.clk.Advance(15*time.Minute - time.Second)
	if pc.clk.Pending() != 1 {
		t.Fatal("lockout ended early")
	}
	pc.clk.Advance(time.Second)
	pc.login("tom", tomPassword)
	pc.expect("logged in as tom (technician)")

	var failed, locked []Record
	for _, r := range pc.mem.Records() {
		switch {
		case r.Action == "login" && r.Result == "failed":
			failed = append(failed, r)
		case r.Action == "lockout":
			locked = append(locked, r)
		}
	}
	if len(failed) != 5 || len(locked) != 1 {
		t.Fatalf("audit: %d failures, %d lockouts; want 5 and 1", len(failed), len(locked))
	}
	for i, want := range []string{"next attempt in 1s", "in 2s", "in 4s", "in 8s", "in 15m0s"} {
		if !strings.Contains(failed[i].Detail, want) || failed[i].User != "tom" {
			t.Errorf("failure %d audited as %+v, want %q", i+1, failed[i], want)
		}
	}
}

func TestSerialUnknownUserNotLogged(t *testing.T) {
	pc := startPTY(t)
	pc.login("Tr0ub4dor&3", "whatever-password")
	pc.expect("login incorrect")
	recs := pc.mem.Records()
	if len(recs) == 0 || recs[0].User != "(unknown user)" {
		t.Fatalf("audit %+v", recs)
	}
	if strings.Contains(pc.journal.String(), "Tr0ub4dor") {
		t.Fatal("a name that is no account reached the journal")
	}
}

func TestSerialIdleLogout(t *testing.T) {
	pc := startPTY(t)
	pc.login("tom", tomPassword)
	pc.expect("tom@laned# ")
	pc.clk.Advance(15*time.Minute - time.Second)
	pc.typeLine("whoami") // input restarts the idle time
	pc.expect("tom (technician) via serial")
	pc.expect("tom@laned# ")
	pc.clk.Advance(15*time.Minute - time.Second)
	time.Sleep(100 * time.Millisecond) // several polls: still logged in
	if strings.Contains(pc.all(), "logged out") {
		t.Fatal("logged out before the idle timeout")
	}
	pc.clk.Advance(time.Second)
	pc.expect("idle for 15m0s: logged out")
	pc.expect("login: ")
	var idle bool
	for _, r := range pc.mem.Records() {
		idle = idle || (r.Action == "logout" && r.Result == "idle" && r.User == "tom")
	}
	if !idle {
		t.Fatalf("no idle logout audited: %+v", pc.mem.Records())
	}
}

func TestSerialPasswordNotEchoed(t *testing.T) {
	pc := startPTY(t)
	pc.login("tom", tomPassword)
	pc.expect("tom@laned# ")
	if strings.Contains(pc.all(), tomPassword) || strings.Contains(pc.all(), "correct horse") {
		t.Fatal("password echoed")
	}
}

func TestSerialCtrlCClearsTheLine(t *testing.T) {
	pc := startPTY(t)
	pc.login("tom", tomPassword)
	pc.expect("tom@laned# ")
	if _, err := pc.master.Write([]byte("trigger te\x03whoami\r")); err != nil {
		t.Fatal(err)
	}
	pc.expect("tom (technician) via serial")
	pc.expect("tom@laned# ")
	pc.typeLine("\x03\x03status")
	pc.expect("state degraded")
	if n := strings.Count(strings.Join(pc.fb.Calls(), ","), "TriggerTest"); n != 0 {
		t.Fatalf("the cleared line ran: %v", pc.fb.Calls())
	}
}
