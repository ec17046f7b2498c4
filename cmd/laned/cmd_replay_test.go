package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestReplayUsage: the exact CLI refuses what it cannot run, naming the
// flag, before any model is opened.
func TestReplayUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--gallery", "g"}, "--frames"},
		{[]string{"replay", "--frames", "f"}, "--gallery DIR and --bundle FILE"},
		{[]string{"replay", "--frames", "f", "--gallery", "g", "--bundle", "b"}, "exactly one"},
		{[]string{"replay", "--frames", "f", "--bundle", "b"}, "--trust"},
		{[]string{"replay", "--frames", "f", "--gallery", "g", "extra"}, "unexpected"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errb); code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want an error naming %s", tc.args, code, errb.String(), tc.want)
		}
	}
}
