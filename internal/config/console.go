package config

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/laned/laned/internal/console"
)

// Console is the "console:" section: the technician console the daemon
// serves on its socket and, when a device is set, on a serial port
// (package console's Config).
type Console struct {
	Socket      string `yaml:"socket"` // "none": no console socket
	SocketGroup string `yaml:"socket_group"`
	// Roles maps a socket peer's groups to console roles (viewer,
	// technician); the highest wins, root is a technician.
	Roles       map[string]string `yaml:"roles"`
	Users       string            `yaml:"users"`
	Serial      ConsoleSerial     `yaml:"serial"`
	IdleTimeout time.Duration     `yaml:"idle_timeout"`
	Login       ConsoleLogin      `yaml:"login"`
}

// ConsoleSerial is "console.serial:".
type ConsoleSerial struct {
	Device string `yaml:"device"` // "": no serial console
	Baud   int    `yaml:"baud"`
}

// ConsoleLogin is "console.login:", the serial login policy.
type ConsoleLogin struct {
	MaxFailures int           `yaml:"max_failures"`
	BaseDelay   time.Duration `yaml:"base_delay"`
	Lockout     time.Duration `yaml:"lockout"`
}

func init() {
	for k, v := range map[string]string{
		"console":                        "Technician console (docs/technician-guide.md): laned ctl / laned console on\nthe socket, and a serial port with per-technician logins.",
		"console.socket":                 "Console socket (mode 0660); none: no socket console.",
		"console.socket_group":           "Group owning the socket file: only its members reach the console; - : the\ndaemon's own group.",
		"console.roles":                  "Socket peers' groups → role: viewer (read-only commands) or technician;\na peer gets its highest, root is a technician, a peer in none is refused.",
		"console.roles.laned-console":    "Members see state (status, gallery, outbox, events, selftest).",
		"console.roles.laned-technician": "Members may also change things (gallery import, camera controls, snapshot).",
		"console.users":                  "Serial logins (laned console passwd USER): argon2id hashes, mode 0600.",
		"console.serial":                 "Serial console port.",
		"console.serial.device":          "Device, e.g. /dev/ttyS0 or /dev/serial/by-id/...; empty: no serial console.",
		"console.serial.baud":            "Baud rate (9600 to 921600).",
		"console.idle_timeout":           "A session with no input for this long is logged out (1m to 24h).",
		"console.login":                  "Serial login policy.",
		"console.login.max_failures":     "Consecutive failures that lock the user and the port.",
		"console.login.base_delay":       "Delay after the first failure, doubling after each.",
		"console.login.lockout":          "How long a lock lasts.",
	} {
		comments[k] = v
	}
}

// WithDefaults fills each zero field from console.DefaultConfig; the
// socket goes beside the local API's (/run/laned/console.sock).
func (c Console) WithDefaults(apiSocket string) Console {
	d := console.DefaultConfig()
	def(&c.Socket, filepath.Join(filepath.Dir(apiSocket), filepath.Base(d.Socket)))
	def(&c.SocketGroup, d.SocketGroup)
	if c.Roles == nil {
		c.Roles = map[string]string{}
		for g, r := range d.Roles {
			c.Roles[g] = r.String()
		}
	}
	def(&c.Users, d.Users)
	def(&c.Serial.Baud, d.Serial.Baud)
	def(&c.IdleTimeout, d.IdleTimeout)
	def(&c.Login.MaxFailures, d.Login.MaxFailures)
	def(&c.Login.BaseDelay, d.Login.BaseDelay)
	def(&c.Login.Lockout, d.Login.Lockout)
	return c
}

// Options returns the section as package console's Config.
func (c Console) Options() console.Config {
	roles := map[string]console.Role{}
	for g, r := range c.Roles {
		roles[g], _ = console.ParseRole(r) // Validate reports a bad one
	}
	sock, group := c.Socket, c.SocketGroup
	if sock == "none" {
		sock = ""
	}
	if group == "-" {
		group = "" // the daemon's own group
	}
	return console.Config{Socket: sock, SocketGroup: group, Roles: roles, Users: c.Users,
		Serial:      console.SerialConfig{Device: c.Serial.Device, Baud: c.Serial.Baud},
		IdleTimeout: c.IdleTimeout,
		Login:       console.LoginPolicy{MaxFailures: c.Login.MaxFailures, BaseDelay: c.Login.BaseDelay, Lockout: c.Login.Lockout}}
}

// Validate checks the section after WithDefaults; errors name the key.
func (c Console) Validate() error {
	e := errs{section: "console"}
	if c.Socket != "none" {
		e.abs("socket", c.Socket, false)
		if len(c.Socket) > 107 {
			e.bad("socket", "%d bytes, a Unix socket path holds at most 107", len(c.Socket))
		}
	}
	if c.SocketGroup == "" || strings.ContainsAny(c.SocketGroup, ":/\n ") {
		e.bad("socket_group", "%q is not a group name (or - for the daemon's own)", c.SocketGroup)
	}
	for _, g := range slices.Sorted(maps.Keys(c.Roles)) {
		if g == "" || strings.ContainsAny(g, ":/\n ") {
			e.bad("roles", "%q is not a group name", g)
		}
		if _, err := console.ParseRole(c.Roles[g]); err != nil {
			e.bad("roles."+g, "%v", err)
		}
	}
	if c.Serial.Device != "" {
		e.abs("serial.device", c.Serial.Device, false)
	}
	e.abs("users", c.Users, true)
	if err := c.Options().Validate(); err != nil {
		e.list = append(e.list, err)
	}
	return e.err()
}
