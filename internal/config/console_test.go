package config

import (
	"strings"
	"testing"

	"github.com/laned/laned/internal/console"
)

const consoleBase = "site: s\nlane: l\nuplink: {brokers: [\"tcp://127.0.0.1:1883\"]}\ngallery: {key: {file: /k}}\n"

func TestConsoleSection(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, err string
		check           func(t *testing.T, c console.Config)
	}{
		{name: "defaults beside the local API socket", yaml: "localapi: {socket: /run/x/laned.sock}\n", check: func(t *testing.T, c console.Config) {
			if c.Socket != "/run/x/console.sock" || c.SocketGroup != "laned-console" || c.Roles["laned-technician"] != console.RoleTechnician ||
				c.Roles["laned-console"] != console.RoleViewer || c.Serial.Baud != 115200 || c.Login.MaxFailures != 5 {
				t.Errorf("%+v", c)
			}
		}},
		{name: "one field keeps the others' defaults", yaml: "console: {login: {max_failures: 3}}\n", check: func(t *testing.T, c console.Config) {
			if c.Login.MaxFailures != 3 || c.Login.BaseDelay == 0 || c.Login.Lockout == 0 || c.IdleTimeout == 0 {
				t.Errorf("%+v", c.Login)
			}
		}},
		{name: "no socket, own group", yaml: "console: {socket: none, socket_group: \"-\"}\n", check: func(t *testing.T, c console.Config) {
			if c.Socket != "" || c.SocketGroup != "" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "roles replace the default map", yaml: "console: {roles: {ops: technician}}\n", check: func(t *testing.T, c console.Config) {
			if len(c.Roles) != 1 || c.Roles["ops"] != console.RoleTechnician {
				t.Errorf("%+v", c.Roles)
			}
		}},
		{name: "bad role", yaml: "console: {roles: {ops: admin}}\n", err: "console.roles.ops"},
		{name: "unknown key", yaml: "console: {serail: {device: /dev/ttyS0}}\n", err: "console.serail"},
		{name: "relative socket", yaml: "console: {socket: console.sock}\n", err: "console.socket"},
		{name: "odd baud", yaml: "console: {serial: {device: /dev/ttyS0, baud: 12345}}\n", err: "console.serial.baud"},
		{name: "idle too short", yaml: "console: {idle_timeout: 5s}\n", err: "console.idle_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(consoleBase + tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c.Console.Options())
		})
	}
}
