package config

import (
	"strings"
	"time"

	"github.com/laned/laned/internal/console"
)

// Console is the "console:" section: the technician console the daemon
// serves on its socket and, when a device is set, on a serial port
// (package console's Config, with the role map spelt as two group lists).
type Console struct {
	Socket           string        `yaml:"socket"` // "none": no console socket
	SocketGroup      string        `yaml:"socket_group"`
	ViewerGroups     []string      `yaml:"viewer_groups"`
	TechnicianGroups []string      `yaml:"technician_groups"`
	Users            string        `yaml:"users"`
	Serial           ConsoleSerial `yaml:"serial"`
	IdleTimeout      time.Duration `yaml:"idle_timeout"`
	Login            ConsoleLogin  `yaml:"login"`
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
		"console":                    "Technician console (docs/technician-guide.md): laned ctl / laned console on\nthe socket, and a serial port with per-technician logins.",
		"console.socket":             "Console socket (mode 0660); none: no socket console.",
		"console.socket_group":       "Group owning the socket file: only its members reach the console.",
		"console.viewer_groups":      "Socket peers in these groups get the viewer role (read-only commands).",
		"console.technician_groups":  "Socket peers in these groups get the technician role; root always does.",
		"console.users":              "Serial logins (laned console passwd USER): argon2id hashes, mode 0600.",
		"console.serial":             "Serial console port.",
		"console.serial.device":      "Device, e.g. /dev/ttyS0 or /dev/serial/by-id/...; empty: no serial console.",
		"console.serial.baud":        "Baud rate (9600 to 921600).",
		"console.idle_timeout":       "A session with no input for this long is logged out (1m to 24h).",
		"console.login":              "Serial login policy.",
		"console.login.max_failures": "Consecutive failures that lock the user and the port.",
		"console.login.base_delay":   "Delay after the first failure, doubling after each.",
		"console.login.lockout":      "How long a lock lasts.",
	} {
		comments[k] = v
	}
}

// WithDefaults fills each zero field from console.DefaultConfig.
func (c Console) WithDefaults() Console {
	d := console.DefaultConfig()
	def(&c.Socket, d.Socket)
	def(&c.SocketGroup, d.SocketGroup)
	if c.ViewerGroups == nil && c.TechnicianGroups == nil {
		for g, r := range d.Roles {
			if r == console.RoleTechnician {
				c.TechnicianGroups = append(c.TechnicianGroups, g)
			} else {
				c.ViewerGroups = append(c.ViewerGroups, g)
			}
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
	for _, g := range c.ViewerGroups {
		roles[g] = console.RoleViewer
	}
	for _, g := range c.TechnicianGroups {
		roles[g] = console.RoleTechnician // the higher role wins a group in both lists
	}
	sock := c.Socket
	if sock == "none" {
		sock = ""
	}
	return console.Config{Socket: sock, SocketGroup: c.SocketGroup, Roles: roles, Users: c.Users,
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
	for _, f := range []struct {
		name string
		gs   []string
	}{{"socket_group", []string{c.SocketGroup}}, {"viewer_groups", c.ViewerGroups}, {"technician_groups", c.TechnicianGroups}} {
		for _, g := range f.gs {
			if g == "" || strings.ContainsAny(g, ":/\n ") {
				e.bad(f.name, "%q is not a group name", g)
			}
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
