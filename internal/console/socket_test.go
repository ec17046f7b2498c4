package console

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
)

type socketRig struct {
	path string
	clk  *clock.Fake
	fb   *fakeBackend
	mem  *MemoryAuditor
	srv  *Server
}

func startSocket(t *testing.T, peers PeerMapper) *socketRig {
	t.Helper()
	dir, err := os.MkdirTemp("", "lanedsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &socketRig{path: filepath.Join(dir, "console.sock"), clk: clock.NewFake(t0), fb: &fakeBackend{}, mem: &MemoryAuditor{}}
	in, err := NewInterpreter(r.fb, r.mem, r.clk, NewRedactor(fakeBrokerPassword, fakeGalleryKey))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Socket, cfg.SocketGroup = r.path, ""
	r.srv, err = NewServer(cfg, Deps{Interp: in, Audit: r.mem, Clock: r.clk, Peers: peers})
	if err != nil {
		t.Fatal(err)
	}
	r.srv.poll = 20 * time.Millisecond
	ln, err := ListenSocket(r.path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.srv.ServeSocket(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func TestServerRunReturnsNilOnCancelAndClosesTwice(t *testing.T) {
	dir, err := os.MkdirTemp("", "lanedsock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	in, _ := NewInterpreter(&fakeBackend{}, &MemoryAuditor{}, clock.Real{}, nil)
	cfg := DefaultConfig()
	cfg.Socket, cfg.SocketGroup = filepath.Join(dir, "c.sock"), ""
	srv, err := NewServer(cfg, Deps{Interp: in, Audit: &MemoryAuditor{}, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var c *Client
	for i := 0; ; i++ {
		if c, err = Dial(ctx, cfg.Socket); err == nil {
			break
		}
		if i > 1000 {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, err := os.Stat(cfg.Socket); err != nil || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v %v, want 0660", st.Mode(), err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	c.Close()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close after Run: %v", err)
	}
	if _, err := os.Stat(cfg.Socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// asRole is a peer mapper that checks the kernel's credentials are this
// process's and gives role.
func asRole(t *testing.T, role Role) PeerMapper {
	return func(p Peer) (Identity, error) {
		if int(p.UID) != os.Getuid() || int(p.PID) != os.Getpid() {
			t.Errorf("peer %+v is not this process", p)
		}
		return Identity{User: "peer", Role: role, Transport: "socket test"}, nil
	}
}

func TestSocketSessionRolesFilesAndCancel(t *testing.T) {
	r := startSocket(t, asRole(t, RoleViewer))
	ctx := context.Background()
	c, err := Dial(ctx, r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Hello.Role != "viewer" || c.Hello.User != "peer" {
		t.Fatalf("hello %+v", c.Hello)
	}
	var out bytes.Buffer
	d, err := c.Exec(ctx, "status", &out, nil)
	if err != nil || !d.OK || !strings.Contains(out.String(), "state degraded") {
		t.Fatalf("status: %+v %v\n%s", d, err, out.String())
	}
	out.Reset()
	d, err = c.Exec(ctx, "snapshot front", &out, nil)
	if err != nil || d.OK || !d.Denied || strings.Contains(strings.Join(r.fb.Calls(), ","), "Snapshot") {
		t.Fatalf("viewer snapshot: %+v %v calls %v", d, err, r.fb.Calls())
	}
	// A follow runs until the client cancels.
	out.Reset()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for !strings.Contains(r.mem2(), "LogTail") {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	d, err = c.Exec(cctx, "log tail -f", &out, nil)
	if err != nil || !d.OK || !strings.Contains(out.String(), "password="+Redacted) || strings.Contains(out.String(), fakeBrokerPassword) {
		t.Fatalf("log tail -f: %+v %v\n%s", d, err, out.String())
	}
}

func (r *socketRig) mem2() string { return strings.Join(r.fb.Calls(), ",") }

func TestSocketSnapshotFileForTechnician(t *testing.T) {
	r := startSocket(t, asRole(t, RoleTechnician))
	ctx := context.Background()
	c, err := Dial(ctx, r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got File
	var out bytes.Buffer
	d, err := c.Exec(ctx, "snapshot front aim.jpg", &out, func(f File) error { got = f; return nil })
	if err != nil || !d.OK || got.Name != "aim.jpg" || string(got.Data) != "\xff\xd8fakejpeg\xff\xd9" {
		t.Fatalf("snapshot: %+v %v file %q\n%s", d, err, got.Name, out.String())
	}
}

func TestSocketIdleLogout(t *testing.T) {
	r := startSocket(t, asRole(t, RoleViewer))
	ctx := context.Background()
	c, err := Dial(ctx, r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.clk.Advance(15 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for !loggedOutIdle(r.mem) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // the server's next read poll sees the clock
	}
	_, err = c.Exec(ctx, "status", &bytes.Buffer{}, nil)
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "idle for 15m0s") {
		t.Fatalf("after idle: %v", err)
	}
	if !loggedOutIdle(r.mem) {
		t.Fatalf("idle logout not audited: %+v", r.mem.Records())
	}
}

func loggedOutIdle(m *MemoryAuditor) bool {
	for _, rec := range m.Records() {
		if rec.Action == "logout" && rec.Result == "idle" {
			return true
		}
	}
	return false
}

func TestSocketRefusesUnmappedPeer(t *testing.T) {
	r := startSocket(t, func(p Peer) (Identity, error) {
		return Identity{User: "mallory", Transport: "socket"}, errors.New("user mallory is in no console group")
	})
	_, err := Dial(context.Background(), r.path)
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "no console group") {
		t.Fatalf("dial: %v", err)
	}
	recs := r.mem.Records()
	if len(recs) != 1 || recs[0].Action != "connect" || recs[0].Result != "denied" {
		t.Fatalf("audit %+v", recs)
	}
}

func TestGroupMapper(t *testing.T) {
	m := GroupMapper(map[string]Role{"nogroup": RoleViewer})
	id, err := m(Peer{UID: 0, GID: 0, PID: 1})
	if err != nil || id.Role != RoleTechnician || id.User != "root" {
		t.Fatalf("root: %+v %v", id, err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	if _, err := user.LookupGroup("nogroup"); err != nil {
		t.Skip("no group nogroup")
	}
	var uid, gid uint32
	for _, c := range nobody.Uid {
		uid = uid*10 + uint32(c-'0')
	}
	for _, c := range nobody.Gid {
		gid = gid*10 + uint32(c-'0')
	}
	id, err = m(Peer{UID: uid, GID: gid})
	if err != nil || id.Role != RoleViewer || id.User != "nobody" {
		t.Fatalf("nobody in nogroup: %+v %v", id, err)
	}
	id, err = GroupMapper(nil)(Peer{UID: uid, GID: gid})
	if err == nil || id.Role != RoleNone {
		t.Fatalf("nobody without a mapping: %+v %v", id, err)
	}
}

func TestListenSocketRefusesNonSocket(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, nil, 0o600)
	if _, err := ListenSocket(p, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("got %v", err)
	}
}
