package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/term"
)

// SerialPort is the part of go.bug.st/serial's Port the console uses. Its
// Read returns (0, nil) when the read timeout passes without a byte.
type SerialPort interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetReadTimeout(t time.Duration) error
}

// serialPoll is the serial read timeout: how often a waiting session looks
// at the clock (idle logout) and at ctx.
const serialPoll = 200 * time.Millisecond

// ServeSerial runs login sessions on port until ctx is done (nil) or the
// port fails (the error, so the caller can reopen it).
func (s *Server) ServeSerial(ctx context.Context, port SerialPort, device string) error {
	if err := port.SetReadTimeout(s.poll); err != nil {
		return fmt.Errorf("serial %s: read timeout: %w", device, err)
	}
	transport := "serial " + device
	portKey := "port:" + device
	for {
		if ctx.Err() != nil {
			return nil
		}
		ir := newIdleReader(ctx, port, s.clk, s.cfg.IdleTimeout)
		t := term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{ir, port}, "")
		if left, locked := s.limiter.Locked(portKey); locked {
			fmt.Fprintf(t, "\nconsole locked after %d failed logins; try again in %s\n", s.policy.MaxFailures, left.Round(time.Second))
			if err := s.sleep(ctx, left); err != nil {
				return nil
			}
			continue
		}
		fmt.Fprintf(t, "\nlaned console on %s: authorised technicians only; every command is audited\n", device)
		t.SetPrompt("login: ")
		name, err := t.ReadLine()
		if err != nil {
			if done, err := s.serialEnd(ctx, err); done {
				return err
			}
			continue
		}
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		pw, err := t.ReadPassword("password: ")
		if err != nil {
			if done, err := s.serialEnd(ctx, err); done {
				return err
			}
			continue
		}
		userKey := "user:" + name
		shown := auditName(name, s.users)
		if left, locked := s.limiter.Locked(userKey); locked {
			s.audit.Audit(Record{At: s.clk.Now(), User: shown, Transport: transport, Action: "login", Result: "locked",
				Detail: fmt.Sprintf("locked for %s more", left.Round(time.Second))})
			fmt.Fprintf(t, "account locked after failed logins; try again in %s\n", left.Round(time.Second))
			continue
		}
		role, ok := s.users.Verify(name, pw)
		pw = ""
		if !ok {
			delay, count, locked := s.limiter.Fail(userKey, portKey)
			rec := Record{At: s.clk.Now(), User: shown, Transport: transport, Action: "login", Result: "failed",
				Detail: fmt.Sprintf("failure %d, next attempt in %s", count, delay)}
			s.audit.Audit(rec)
			fmt.Fprintf(t, "login incorrect\n")
			if locked {
				rec.Action, rec.Result, rec.Detail = "lockout", "locked", fmt.Sprintf("%d failures, locked for %s", count, delay)
				s.audit.Audit(rec)
				continue // the lock message comes at the top of the loop
			}
			if err := s.sleep(ctx, delay); err != nil {
				return nil
			}
			continue
		}
		s.limiter.Success(userKey, portKey)
		id := Identity{User: name, Role: role, Transport: transport}
		s.audit.Audit(Record{At: s.clk.Now(), User: name, Role: role, Transport: transport, Action: "login", Result: "ok"})
		err = s.serialSession(ctx, t, ir, port, id)
		if err != nil && !errors.Is(err, errIdle) && !errors.Is(err, ErrLogout) && ctx.Err() == nil {
			return fmt.Errorf("serial %s: %w", device, err)
		}
	}
}

// serialEnd decides what a read error at the login prompt means: the port
// failed (done, err), ctx ended (done, nil), or just start over (idle,
// Ctrl-C, Ctrl-D).
func (s *Server) serialEnd(ctx context.Context, err error) (bool, error) {
	switch {
	case ctx.Err() != nil:
		return true, nil
	case errors.Is(err, errIdle), errors.Is(err, io.EOF), errors.Is(err, term.ErrPasteIndicator):
		return false, nil
	}
	return true, err
}

// auditName is the name put in audit records for a login attempt: the
// typed name if it is an account, else a placeholder (a password typed
// into the login prompt must not be logged).
func auditName(name string, u *Users) string {
	if ValidUserName(name) {
		for _, x := range u.Names() {
			if x.Name == name {
				return name
			}
		}
	}
	return "(unknown user)"
}

// serialSession is one logged-in session.
func (s *Server) serialSession(ctx context.Context, t *term.Terminal, ir *idleReader, port SerialPort, id Identity) error {
	mark := ">"
	if id.Role >= RoleTechnician {
		mark = "#"
	}
	t.SetPrompt(id.User + "@laned" + mark + " ")
	fmt.Fprintf(t, "logged in as %s (%s); 'help' lists commands, idle logout after %s\n", id.User, id.Role, s.cfg.IdleTimeout)
	out := serialOut{t}
	logout := func(result string) {
		s.audit.Audit(Record{At: s.clk.Now(), User: id.User, Role: id.Role, Transport: id.Transport, Action: "logout", Result: result})
	}
	for {
		line, err := t.ReadLine()
		switch {
		case errors.Is(err, errIdle):
			fmt.Fprintf(t, "\nidle for %s: logged out\n", s.cfg.IdleTimeout)
			logout("idle")
			return errIdle
		case errors.Is(err, io.EOF):
			logout("ok")
			return ErrLogout
		case errors.Is(err, term.ErrPasteIndicator):
		case err != nil:
			logout("error")
			return err
		}
		res := s.execSerial(ctx, port, line, id, out, ir)
		ir.touch()
		if errors.Is(res.Err, ErrLogout) {
			logout("ok")
			return ErrLogout
		}
		if ctx.Err() != nil {
			logout("shutdown")
			return nil
		}
	}
}

// execSerial runs one line; a streaming command stops at the next key.
func (s *Server) execSerial(ctx context.Context, port SerialPort, line string, id Identity, out Output, ir *idleReader) Result {
	if !s.interp.Streams(line) {
		return s.interp.Exec(ctx, id, line, out)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 64)
		for cctx.Err() == nil {
			n, err := port.Read(buf)
			if n > 0 || err != nil {
				cancel()
				return
			}
		}
	}()
	res := s.interp.Exec(cctx, id, line, out)
	cancel()
	<-stopped
	return res
}

// serialOut writes through the terminal (which turns \n into \r\n) and
// cannot carry files.
type serialOut struct{ t *term.Terminal }

func (o serialOut) Write(p []byte) (int, error) { return o.t.Write(p) }
func (o serialOut) File(string, []byte) error   { return ErrNoFile }
