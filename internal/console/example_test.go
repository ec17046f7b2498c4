package console_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/console"
)

// stdout is an Output that prints text and refuses files, like the serial
// console.
type stdout struct{}

func (stdout) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdout) File(string, []byte) error   { return console.ErrNoFile }

// An interpreter over a backend: here the offline one (no daemon), whose
// status says so. Every line is role-checked and audited.
func ExampleInterpreter() {
	audit := &console.MemoryAuditor{}
	in, _ := console.NewInterpreter(&console.Offline{}, audit, clock.NewFake(time.Unix(0, 0)), nil)
	viewer := console.Identity{User: "vera", Role: console.RoleViewer, Transport: "example"}
	in.Exec(context.Background(), viewer, "status", stdout{})
	in.Exec(context.Background(), viewer, "trigger test", stdout{})
	for _, r := range audit.Records() {
		fmt.Println(r.User, r.Command, r.Result)
	}
	// Output:
	// state daemon not reachable
	// problem: the lane daemon is not reachable (systemctl status laned)
	// permission denied: 'trigger test' needs the technician role (you are viewer)
	// vera status ok
	// vera trigger test denied
}
