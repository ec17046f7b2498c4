package console

import (
	"context"
	"strings"
	"testing"
)

// FuzzConsoleLine feeds arbitrary lines to the interpreter under every
// role: no panic, no backend call for a command the role may not run, no
// secret in the output or the audit record.
func FuzzConsoleLine(f *testing.F) {
	for _, s := range []string{"status", "snapshot front", "trigger test", "config show", "gallery import /x",
		"cameras set front focus 3", "help snapshot", `log tail "5" -f`, "TRIGGER   TEST", "trigger\ttest",
		"outbox retry", "sensors watch 1", "focus front 1", "\x00", "'", `"a\`, "gallery  sync", "events 99999999"} {
		for r := RoleNone; r <= RoleTechnician; r++ {
			f.Add(s, uint8(r))
		}
	}
	// Which backend calls each command may make, and its minimum role.
	privileged := map[string]bool{"Snapshot": true, "TriggerTest": true, "SetControl": true,
		"GallerySync": true, "GalleryImport": true, "OutboxRetry": true}
	f.Fuzz(func(t *testing.T, line string, role uint8) {
		r := Role(role % 3)
		in, fb, au := newTestInterp(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // streams end at once
		var out bufOut
		res := in.Exec(ctx, Identity{User: "fuzz", Role: r, Transport: "fuzz"}, line, &out)
		_, allowed := in.Allowed(r, line)
		for _, c := range fb.Calls() {
			if !allowed {
				t.Fatalf("role %s: %q reached the backend (%s) though not allowed (result %v)", r, line, c, res.Err)
			}
			if privileged[c] && r < RoleTechnician {
				t.Fatalf("role %s ran %s via %q", r, c, line)
			}
		}
		text := out.String()
		for _, rec := range au.Records() {
			text += rec.Command + rec.Detail
		}
		for _, sec := range []string{fakeBrokerPassword, fakeGalleryKey} {
			if strings.Contains(text, sec) {
				t.Fatalf("secret in output for %q:\n%s", line, text)
			}
		}
	})
}
