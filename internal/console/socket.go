package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Peer is a socket peer's kernel-reported credentials (SO_PEERCRED).
type Peer struct {
	UID, GID uint32
	PID      int32
}

// PeerMapper turns a peer into an identity; an error refuses the peer.
type PeerMapper func(Peer) (Identity, error)

// GroupMapper maps a peer through its user's groups: root is a
// technician; otherwise the highest role any of the user's groups (primary
// and supplementary, by name) has in roles.
func GroupMapper(roles map[string]Role) PeerMapper {
	return func(p Peer) (Identity, error) {
		id := Identity{Transport: fmt.Sprintf("socket uid=%d gid=%d pid=%d", p.UID, p.GID, p.PID)}
		name := strconv.FormatUint(uint64(p.UID), 10)
		gids := []string{strconv.FormatUint(uint64(p.GID), 10)}
		if u, err := user.LookupId(name); err == nil {
			name = u.Username
			if more, err := u.GroupIds(); err == nil {
				gids = append(gids, more...)
			}
		}
		id.User = name
		if p.UID == 0 {
			id.Role = RoleTechnician
			return id, nil
		}
		for _, gid := range gids {
			g, err := user.LookupGroupId(gid)
			if err != nil {
				continue
			}
			if r, ok := roles[g.Name]; ok && r > id.Role {
				id.Role = r
			}
		}
		if id.Role == RoleNone {
			return id, fmt.Errorf("user %s is in no console group", name)
		}
		return id, nil
	}
}

// ListenSocket creates the console socket at path with mode 0660 and, when
// group is set, that group. A stale socket file is replaced; any other file
// at path is an error.
func ListenSocket(path, group string) (*net.UnixListener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("console socket %s: exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("console socket %s: another process serves it", path)
		}
		os.Remove(path)
	}
	old := unix.Umask(0o117)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("console socket %s: group %s: %w", path, group, err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("console socket %s: group %s: %w", path, group, err)
		}
	}
	return ln, nil
}

// PeerCred reads SO_PEERCRED from a Unix connection.
func PeerCred(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, fmt.Errorf("SO_PEERCRED: %w", cerr)
	}
	return Peer{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}, nil
}

// Frame is one JSON line of the console socket protocol. The client sends
// {"line": …} to run a command and {"cancel": true} to interrupt it; the
// server answers with a hello on connect, then out and file frames, and a
// done frame per line.
type Frame struct {
	Hello  *Hello `json:"hello,omitempty"`
	Line   string `json:"line,omitempty"`
	Cancel bool   `json:"cancel,omitempty"`
	Out    string `json:"out,omitempty"`
	File   *File  `json:"file,omitempty"`
	Done   *Done  `json:"done,omitempty"`
	Bye    string `json:"bye,omitempty"`
}

// Hello tells the client who the server thinks it is.
type Hello struct {
	User string `json:"user"`
	Role string `json:"role"`
	Idle string `json:"idle_timeout"`
}

// File carries a binary result (a snapshot).
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Done ends the answer to one line.
type Done struct {
	Command string `json:"command,omitempty"`
	OK      bool   `json:"ok"`
	Denied  bool   `json:"denied,omitempty"`
	Error   string `json:"error,omitempty"`
}

// maxFrame bounds one client frame.
const maxFrame = 4 * MaxLine

// socketPoll is how often a waiting socket session looks at the clock.
const socketPoll = time.Second

// ServeSocket accepts console connections on ln until ctx is done.
func (s *Server) ServeSocket(ctx context.Context, ln *net.UnixListener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("console socket accept", "err", err)
			if s.sleep(ctx, 100*time.Millisecond) != nil {
				return
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			s.serveConn(ctx, c)
		}()
	}
}

// deadlineReader maps a read-deadline timeout to (0, nil) so that the
// socket shares the serial port's idle logic.
type deadlineReader struct {
	c    *net.UnixConn
	poll time.Duration
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.c.SetReadDeadline(time.Now().Add(d.poll))
	n, err := d.c.Read(p)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	return n, err
}

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	peer, err := PeerCred(c)
	if err != nil {
		s.log.Warn("console socket: no peer credentials", "err", err)
		return
	}
	id, err := s.peers(peer)
	rec := Record{At: s.clk.Now(), User: id.User, Role: id.Role, Transport: id.Transport, Action: "connect"}
	enc := &frameWriter{w: c}
	if err != nil {
		rec.Result, rec.Detail = "denied", err.Error()
		s.audit.Audit(rec)
		enc.send(Frame{Bye: "permission denied: " + err.Error()})
		return
	}
	rec.Result = "ok"
	s.audit.Audit(rec)
	ir := newIdleReader(ctx, deadlineReader{c, s.pollSocket()}, s.clk, s.cfg.IdleTimeout)
	enc.send(Frame{Hello: &Hello{User: id.User, Role: id.Role.String(), Idle: s.cfg.IdleTimeout.String()}})
	frames := make(chan Frame)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(ir)
		sc.Buffer(make([]byte, 0, 4096), maxFrame)
		for sc.Scan() {
			var f Frame
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				readErr <- fmt.Errorf("bad frame: %w", err)
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		readErr <- err
	}()
	logout := func(result string) {
		s.audit.Audit(Record{At: s.clk.Now(), User: id.User, Role: id.Role, Transport: id.Transport, Action: "logout", Result: result})
	}
	end := func(err error) {
		switch {
		case errors.Is(err, errIdle):
			enc.send(Frame{Bye: "idle for " + s.cfg.IdleTimeout.String() + ": logged out"})
			logout("idle")
		case ctx.Err() != nil:
			enc.send(Frame{Bye: "laned is shutting down"})
			logout("shutdown")
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			logout("ok") // the client closed
		default:
			logout("error")
		}
	}
	for {
		var f Frame
		select {
		case f = <-frames:
		case err := <-readErr:
			end(err)
			return
		}
		if f.Line == "" {
			continue
		}
		cctx, cancel := context.WithCancel(ctx)
		resc := make(chan Result, 1)
		out := &socketOut{enc: enc}
		go func() { resc <- s.interp.Exec(cctx, id, f.Line, out) }()
		var (
			res     Result
			pending error
			rc      = readErr
		)
	wait:
		for {
			select {
			case res = <-resc:
				break wait
			case g := <-frames:
				if g.Cancel {
					cancel()
				}
			case err := <-rc:
				cancel() // the client went away: stop its command
				pending, rc = err, nil
			}
		}
		cancel()
		ir.touch()
		d := &Done{Command: res.Command, OK: res.Err == nil || errors.Is(res.Err, ErrLogout), Denied: errors.Is(res.Err, ErrDenied)}
		if res.Err != nil && !errors.Is(res.Err, ErrLogout) {
			d.Error = s.interp.redact.String(res.Err.Error())
		}
		enc.send(Frame{Done: d})
		if pending != nil {
			end(pending)
			return
		}
		if errors.Is(res.Err, ErrLogout) {
			logout("ok")
			return
		}
	}
}

func (s *Server) pollSocket() time.Duration {
	if s.poll < socketPoll {
		return s.poll
	}
	return socketPoll
}

// frameWriter serialises frames onto a connection.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (f *frameWriter) send(fr Frame) error {
	b, err := json.Marshal(fr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	_, f.err = f.w.Write(append(b, '\n'))
	return f.err
}

// socketOut sends text as out frames and files as file frames.
type socketOut struct{ enc *frameWriter }

func (o *socketOut) Write(p []byte) (int, error) {
	if err := o.enc.send(Frame{Out: string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (o *socketOut) File(name string, data []byte) error {
	return o.enc.send(Frame{File: &File{Name: name, Data: data}})
}
