package console

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
)

// scriptPort is a serial port that reads a script in chunks, then times
// out ((0, nil), like go.bug.st/serial) and signals that it ran dry.
type scriptPort struct {
	mu    sync.Mutex
	in    []byte
	chunk int
	out   bytes.Buffer
	dry   chan struct{}
	once  sync.Once
}

func (p *scriptPort) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.in) == 0 {
		p.once.Do(func() { close(p.dry) })
		return 0, nil
	}
	n := min(len(b), p.chunk, len(p.in))
	copy(b, p.in[:n])
	p.in = p.in[n:]
	return n, nil
}

func (p *scriptPort) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *scriptPort) SetReadTimeout(time.Duration) error { return nil }

// FuzzSerialSession drives a whole serial session (login prompts, line
// editing, escape sequences, commands) with arbitrary bytes: no panic, no
// backend call before a successful login, no technician-only call without a
// technician login, no secret in the audit, and no secret on the port
// that the script did not type itself.
func FuzzSerialSession(f *testing.F) {
	f.Add([]byte("vera\r"+veraPassword+"\rstatus\rsnapshot front\rtrigger test\rconfig show\rlog tail\rlogout\r"), uint8(7))
	f.Add([]byte("tom\r"+tomPassword+"\rtrigger test\rsnapshot front\r\x1b[A\r\x03exit\r"), uint8(3))
	f.Add([]byte("tom\rwrong\rtom\rwrong\rvera\r"+veraPassword+"\r\x7f\x7fgallery sync\r"), uint8(64))
	f.Add([]byte("\x1b[200~vera\r"+veraPassword+"\r\x1b[201~outbox retry\r"), uint8(1))
	f.Add([]byte("vera\r"+veraPassword+"\rcameras set front focus 1\r\x04"), uint8(200))
	users := writeUsers(f)
	privileged := map[string]bool{"Snapshot": true, "TriggerTest": true, "SetControl": true,
		"GallerySync": true, "GalleryImport": true, "OutboxRetry": true}
	f.Fuzz(func(t *testing.T, script []byte, chunk uint8) {
		if len(script) > 4096 {
			return
		}
		clk := clock.NewFake(t0)
		fb := &fakeBackend{}
		mem := &MemoryAuditor{}
		in, _ := NewInterpreter(fb, mem, clk, NewRedactor(fakeBrokerPassword, fakeGalleryKey, tomPassword, veraPassword))
		cfg := DefaultConfig()
		cfg.Socket = ""
		srv, err := NewServer(cfg, Deps{Interp: in, Users: users, Audit: mem, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		port := &scriptPort{in: script, chunk: int(chunk%32) + 1, dry: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.ServeSerial(ctx, port, "/dev/fuzz") }()
		// Login delays wait on the fake clock: move it along until the
		// script ran dry, then stop the session.
		for running := true; running; {
			select {
			case <-port.dry:
				running = false
			case <-time.After(time.Millisecond):
				clk.Advance(time.Minute)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("ServeSerial: %v", err)
		}
		best := RoleNone
		for _, r := range mem.Records() {
			if r.Action == "login" && r.Result == "ok" && r.Role > best {
				best = r.Role
			}
		}
		for _, c := range fb.Calls() {
			if best == RoleNone {
				t.Fatalf("backend %s called without a login", c)
			}
			if privileged[c] && best < RoleTechnician {
				t.Fatalf("%s ran with only a %s login", c, best)
			}
		}
		var audit string
		for _, r := range mem.Records() {
			audit += r.User + r.Command + r.Detail
		}
		out := port.out.String()
		for _, sec := range []string{fakeBrokerPassword, fakeGalleryKey, tomPassword, veraPassword} {
			if strings.Contains(audit, sec) {
				t.Fatalf("secret %q in the audit", sec)
			}
			// The terminal echoes what is typed at the login prompt (a
			// password typed there shows, as on any getty); nothing else
			// may show a secret.
			if strings.Contains(out, sec) && !bytes.Contains(script, []byte(sec)) {
				t.Fatalf("secret %q in serial output", sec)
			}
		}
	})
}
