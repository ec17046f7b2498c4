package console

import (
	"context"
	"fmt"
)

// Role is what a console user may do. Roles are ordered: a higher role may
// run every command of the lower ones.
type Role int

const (
	// RoleNone may run nothing; it is the zero value so that a forgotten
	// role denies.
	RoleNone Role = iota
	// RoleViewer sees status, cameras, sensors, gallery, outbox, models,
	// configuration (redacted), logs and events.
	RoleViewer
	// RoleTechnician also takes snapshots, fires test vehicles, changes
	// camera controls, syncs and imports galleries and retries the outbox.
	RoleTechnician
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleTechnician:
		return "technician"
	default:
		return "none"
	}
}

// ParseRole parses "viewer" or "technician".
func ParseRole(s string) (Role, error) {
	switch s {
	case "viewer":
		return RoleViewer, nil
	case "technician":
		return RoleTechnician, nil
	}
	return RoleNone, fmt.Errorf("unknown console role %q (viewer or technician)", s)
}

// MarshalText implements encoding.TextMarshaler (YAML and JSON config).
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Identity is who runs a command, as the transport established it.
type Identity struct {
	User      string // login name, or the peer's user name on the socket
	Role      Role
	Transport string // "socket uid=1000 gid=1000 pid=42", "serial /dev/ttyS0"
}

type identityKey struct{}

// WithIdentity returns ctx carrying who runs the command; the interpreter
// sets it for every backend call.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity a backend call runs for.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
