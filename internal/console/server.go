package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
)

// Config is the console section of laned's configuration.
type Config struct {
	// Socket is the console socket; "" disables it. Its file gets mode
	// 0660 and group SocketGroup: only members reach it at all.
	Socket      string `yaml:"socket"`
	SocketGroup string `yaml:"socket_group"`
	// Roles maps group names to console roles for socket peers; a peer
	// gets the highest role of its groups, root is a technician, a peer
	// with no mapped group is refused.
	Roles map[string]Role `yaml:"roles"`
	// Users is the serial console's credential file (0600).
	Users string `yaml:"users"`
	// Serial is the technician serial port; Device "" disables it.
	Serial SerialConfig `yaml:"serial"`
	// IdleTimeout logs a session out after no input for that long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	Login       LoginPolicy   `yaml:"login"`
}

// SerialConfig is the serial console's port.
type SerialConfig struct {
	Device string `yaml:"device"` // /dev/ttyS0, /dev/serial/by-id/…
	Baud   int    `yaml:"baud"`
}

// DefaultConfig is the console's documented default.
func DefaultConfig() Config {
	return Config{
		Socket:      "/run/laned/console.sock",
		SocketGroup: "laned-console",
		Roles:       map[string]Role{"laned-console": RoleViewer, "laned-technician": RoleTechnician},
		Users:       "/etc/laned/console-users",
		Serial:      SerialConfig{Baud: 115200},
		IdleTimeout: 15 * time.Minute,
		Login:       LoginPolicy{MaxFailures: 5, BaseDelay: time.Second, Lockout: 15 * time.Minute},
	}
}

var bauds = map[int]bool{9600: true, 19200: true, 38400: true, 57600: true, 115200: true, 230400: true, 460800: true, 921600: true}

// Validate checks the section without touching files; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.IdleTimeout < time.Minute || c.IdleTimeout > 24*time.Hour {
		errs = append(errs, fmt.Errorf("console.idle_timeout: %s, want 1m to 24h", c.IdleTimeout))
	}
	if c.Serial.Device != "" && !bauds[c.Serial.Baud] {
		errs = append(errs, fmt.Errorf("console.serial.baud: %d is not a standard rate", c.Serial.Baud))
	}
	if c.Serial.Device != "" && c.Users == "" {
		errs = append(errs, errors.New("console.users: the serial console needs a credential file"))
	}
	for g, r := range c.Roles {
		if r == RoleNone {
			errs = append(errs, fmt.Errorf("console.roles.%s: no role", g))
		}
	}
	if c.Login.MaxFailures < 0 || c.Login.MaxFailures > 20 {
		errs = append(errs, fmt.Errorf("console.login.max_failures: %d, want 1 to 20", c.Login.MaxFailures))
	}
	return errors.Join(errs...)
}

// Server serves the interpreter on the console socket and the serial port.
type Server struct {
	cfg     Config
	interp  *Interpreter
	users   *Users
	audit   Auditor
	clk     clock.Clock
	log     *slog.Logger
	policy  LoginPolicy
	limiter *Limiter
	poll    time.Duration
	peers   PeerMapper
	open    func(device string, baud int) (SerialPort, func() error, error)

	mu     sync.Mutex
	ln     net.Listener
	closed bool
}

// Deps are a server's collaborators.
type Deps struct {
	Interp *Interpreter
	Users  *Users // nil: nobody can log in on the serial port
	Audit  Auditor
	Clock  clock.Clock
	Log    *slog.Logger
	// Peers maps socket peers to identities (default: GroupMapper(cfg.Roles)).
	Peers PeerMapper
	// OpenSerial opens the serial device (default: go.bug.st/serial).
	OpenSerial func(device string, baud int) (SerialPort, func() error, error)
}

// NewServer validates cfg and returns a server.
func NewServer(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Interp == nil || d.Audit == nil || d.Clock == nil {
		return nil, errors.New("console: server needs an interpreter, an auditor and a clock")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Users == nil {
		d.Users = &Users{users: map[string]User{}}
	}
	if d.Peers == nil {
		d.Peers = GroupMapper(cfg.Roles)
	}
	if d.OpenSerial == nil {
		d.OpenSerial = OpenSerial
	}
	p := cfg.Login.withDefaults()
	return &Server{cfg: cfg, interp: d.Interp, users: d.Users, audit: d.Audit, clk: d.Clock,
		log: d.Log.With("component", "console"), policy: p, limiter: NewLimiter(p, d.Clock),
		poll: serialPoll, peers: d.Peers, open: d.OpenSerial}, nil
}

// Run serves until ctx is done and returns nil then; it fails only when the
// socket cannot be set up.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if s.cfg.Socket != "" {
		ln, err := ListenSocket(s.cfg.Socket, s.cfg.SocketGroup)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.ln = ln
		s.mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); s.ServeSocket(ctx, ln) }()
	}
	if s.cfg.Serial.Device != "" {
		wg.Add(1)
		go func() { defer wg.Done(); s.runSerial(ctx) }()
	}
	<-ctx.Done()
	s.Close()
	wg.Wait()
	return nil
}

// runSerial keeps the serial console up: it reopens the port when it
// fails or is unplugged (USB adapters), every 5 s.
func (s *Server) runSerial(ctx context.Context) {
	dev := s.cfg.Serial.Device
	for ctx.Err() == nil {
		port, closePort, err := s.open(dev, s.cfg.Serial.Baud)
		if err != nil {
			s.log.Warn("serial console: cannot open port", "device", dev, "err", err)
		} else {
			s.log.Info("serial console up", "device", dev, "baud", s.cfg.Serial.Baud)
			err = s.ServeSerial(ctx, port, dev)
			closePort()
			if err != nil {
				s.log.Warn("serial console: port failed", "device", dev, "err", err)
			}
		}
		if s.sleep(ctx, 5*time.Second) != nil {
			return
		}
	}
}

// sleep waits d on the server's clock, or until ctx is done.
func (s *Server) sleep(ctx context.Context, d time.Duration) error {
	t := s.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting socket connections. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
		if s.cfg.Socket != "" {
			os.Remove(s.cfg.Socket)
		}
	}
	return nil
}
