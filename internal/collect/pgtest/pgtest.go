package pgtest

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// BinDir finds the newest /usr/lib/postgresql/N/bin holding initdb and
// postgres; "" when none.
func BinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d
		}
	}
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Server is a running (or stopped) PostgreSQL cluster.
type Server struct {
	t    testing.TB
	bin  string
	dir  string // cluster (PGDATA)
	sock string // unix socket directory
	log  string
	cred *syscall.Credential
	Port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// Restarts counts Restart calls.
	Restarts int
}

// Start initialises a cluster and starts the server; t.Cleanup stops it
// and removes the files. It skips the test when PostgreSQL is absent.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := BinDir()
	if bin == "" {
		t.Skip("PostgreSQL not installed (no /usr/lib/postgresql/*/bin/initdb; Debian: apt-get install postgresql); skipping PostgreSQL test")
	}
	// Not t.TempDir: as root the server runs as "postgres", which must be
	// able to reach the directory, and TempDir's parents are 0700 root.
	root, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, dir: filepath.Join(root, "data"), sock: root, log: filepath.Join(root, "postgres.log")}
	t.Cleanup(func() { s.Stop(); os.RemoveAll(root) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root needs the postgres user (Debian's postgresql package creates it): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", s.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if err := cmd.Run(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out.String())
	}
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		if err = s.start(); err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("pgtest: %v", err)
		}
	}
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	lf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if s.cred != nil {
		os.Chown(s.log, int(s.cred.Uid), int(s.cred.Gid))
	}
	// fsync stays on: the collector acknowledges to the broker after a
	// commit, and the tests restart the server underneath it.
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dir, "-p", strconv.Itoa(s.Port), "-k", s.sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Accepting TCP is not enough (the server refuses connections
		// while it recovers); pg_isready-like: wait for the pid file's
		// "ready" line.
		if ready(filepath.Join(s.dir, "postmaster.pid")) {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), 200*time.Millisecond); err == nil {
				c.Close()
				break
			}
		}
		select {
		case <-done:
			return fmt.Errorf("postgres exited at start:\n%s", s.LogTail())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("postgres not ready on %d within 30s\n%s", s.Port, s.LogTail())
		}
		time.Sleep(10 * time.Millisecond) // polling a real process
	}
	s.cmd, s.done = cmd, done
	return nil
}

// ready reports whether postmaster.pid says the server accepts connections.
func ready(pidfile string) bool {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return false
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return len(lines) >= 8 && bytes.Equal(bytes.TrimSpace(lines[len(lines)-1]), []byte("ready"))
}

// DSN is a pgx connection URL for database "postgres".
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
}

// DSNFor is DSN for database db (create it first, e.g. with CreateDB).
func (s *Server) DSNFor(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDB creates a fresh database and returns its DSN.
func (s *Server) CreateDB(t testing.TB, name string) string {
	t.Helper()
	db, err := sql.Open("pgx", s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.DSNFor(name)
}

// Running reports whether the server is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Stop is a fast shutdown (SIGINT: sessions are cut, a checkpoint is written).
func (s *Server) Stop() { s.signal(syscall.SIGINT) }

// Crash is an immediate shutdown (SIGQUIT: no checkpoint; the next start
// runs crash recovery from the WAL, as after a power cut of the process).
func (s *Server) Crash() { s.signal(syscall.SIGQUIT) }

// Restart starts a stopped server again on the same port and files.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for range 50 {
		if err = s.start(); err == nil {
			s.Restarts++
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("pgtest: restart: %v", err)
}

// LogTail returns the end of the server log for failure messages.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
