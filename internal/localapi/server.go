package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/outbox"
)

// Gallery is the part of *active.Gallery the API serves.
type Gallery interface {
	Status() active.Status
	Import(ctx context.Context, r io.Reader, actor string) (*bundle.Manifest, error)
}

// Outbox is the part of *outbox.Outbox the API serves.
type Outbox interface{ Stats() outbox.Stats }

// Health is the part of *health.Tracker the API serves.
type Health interface{ Snapshot() health.Snapshot }

// Options configure New.
type Options struct {
	Socket string // path of the Unix socket; required
	// Group owns the socket (mode 0660); "" or "-": the daemon's own group.
	Group   string
	Version string
	Gallery Gallery // optional: its routes answer 503 without
	Outbox  Outbox
	Health  Health
	// MaxImport bounds an imported bundle's size. Default 4 GiB.
	MaxImport int64
	Log       *slog.Logger
}

// Cred is a connection's peer, from SO_PEERCRED.
type Cred struct {
	PID, UID, GID int
}

// Actor names the peer for audit records: "uid:1000".
func (c Cred) Actor() string { return "uid:" + strconv.Itoa(c.UID) }

type credKey struct{}

// Peer returns the credentials of the connection a request came on.
func Peer(ctx context.Context) (Cred, bool) {
	c, ok := ctx.Value(credKey{}).(Cred)
	return c, ok
}

// Server serves the local API.
type Server struct {
	o       Options
	log     *slog.Logger
	ln      net.Listener
	mux     *http.ServeMux
	srv     *http.Server
	started time.Time

	once sync.Once
}

// New creates the socket (replacing a stale one no daemon listens on,
// refusing when one does) and registers the routes. Serving starts in Run.
func New(o Options) (*Server, error) {
	if o.Socket == "" {
		return nil, errors.New("localapi: no socket path")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxImport == 0 {
		o.MaxImport = 4 << 30
	}
	gid := -1
	if o.Group != "" && o.Group != "-" {
		g, err := user.LookupGroup(o.Group)
		if err != nil {
			return nil, fmt.Errorf("localapi: socket group: %w", err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("localapi: group %s: gid %q", o.Group, g.Gid)
		}
	}
	if err := os.MkdirAll(filepath.Dir(o.Socket), 0o755); err != nil {
		return nil, fmt.Errorf("localapi: %w", err)
	}
	if err := removeStale(o.Socket); err != nil {
		return nil, err
	}
	// Created 0600 by the umask below, then opened to the group: no
	// window in which others could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", o.Socket)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("localapi: listen %s: %w", o.Socket, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if gid >= 0 {
		if err := os.Chown(o.Socket, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("localapi: socket group %s: %w", o.Group, err)
		}
	}
	if err := os.Chmod(o.Socket, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("localapi: %w", err)
	}
	s := &Server{o: o, log: o.Log.With("component", "localapi", "socket", o.Socket), ln: ln, mux: http.NewServeMux(), started: time.Now()}
	s.routes()
	s.srv = &http.Server{
		Handler:           s.logged(s.mux),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if cred, err := peerCred(c); err == nil {
				return context.WithValue(ctx, credKey{}, cred)
			}
			return ctx
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// removeStale removes a socket file left by a daemon that died (kill -9):
// nobody accepts on it. A live socket is an error: another daemon runs.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localapi: %w", err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("localapi: %s exists and is not a socket (%s); not replacing it", path, fi.Mode().Type())
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("localapi: %s: another laned is serving on it", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("localapi: remove stale socket: %w", err)
	}
	return nil
}

func peerCred(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, errors.New("not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return Cred{}, err
	}
	if cerr != nil {
		return Cred{}, cerr
	}
	return Cred{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// Handle adds a route (for other packages: the console).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Socket is the socket's path.
func (s *Server) Socket() string { return s.o.Socket }

func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := Peer(r.Context())
		s.log.Info("local API request", "method", r.Method, "path", r.URL.Path, "peer_pid", c.PID, "peer_uid", c.UID, "peer_gid", c.GID)
		h.ServeHTTP(w, r)
	})
}

// Run serves until ctx is cancelled or Close; then it returns nil.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		s.Close()
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("localapi: serve: %w", err)
	}
}

// Close stops serving (requests in flight get 5 s to finish) and removes
// the socket. Idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
		s.ln.Close() // before Run: Shutdown does not know the listener
	})
	return nil
}

type apiError struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, err error) { reply(w, code, apiError{err.Error()}) }

// Status is GET /v1/status.
type Status struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	PID     int       `json:"pid"`
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, Status{Version: s.o.Version, Started: s.started.UTC(), PID: os.Getpid()})
	})
	get := func(pattern, what string, missing bool, v func() any) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if missing {
				fail(w, http.StatusServiceUnavailable, fmt.Errorf("no %s in this daemon", what))
				return
			}
			reply(w, http.StatusOK, v())
		})
	}
	get("GET /v1/health", "health tracker", s.o.Health == nil, func() any { return s.o.Health.Snapshot() })
	get("GET /v1/outbox/status", "outbox", s.o.Outbox == nil, func() any { return s.o.Outbox.Stats() })
	get("GET /v1/gallery/status", "gallery", s.o.Gallery == nil, func() any { return s.o.Gallery.Status() })
	s.mux.HandleFunc("POST /v1/gallery/import", func(w http.ResponseWriter, r *http.Request) {
		if s.o.Gallery == nil {
			fail(w, http.StatusServiceUnavailable, errors.New("no gallery in this daemon"))
			return
		}
		c, ok := Peer(r.Context())
		actor := "unknown"
		if ok {
			actor = c.Actor()
		}
		body := http.MaxBytesReader(w, r.Body, s.o.MaxImport)
		m, err := s.o.Gallery.Import(r.Context(), body, actor)
		if err != nil {
			code := http.StatusUnprocessableEntity
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				code = http.StatusRequestEntityTooLarge
			}
			fail(w, code, err)
			return
		}
		reply(w, http.StatusOK, m)
	})
}
