package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Lane is what the running daemon answers for the lane checks.
type Lane interface {
	CameraProbe
	SensorProbe
	GalleryProbe
}

// Options choose and parameterise the standard table.
type Options struct {
	ModelDir  string // "" = models.Dir()
	StateDir  string // disk space and writability (default /var/lib/laned)
	OutboxDir string // default StateDir
	MinFree   uint64 // default 1 GiB
	MaxSkew   time.Duration

	Broker     string // "" = not checked
	TLS        *tls.Config
	AllowPlain bool

	// Lane answers the live checks; nil falls back to the device nodes
	// of Cameras and Sensors.
	Lane          Lane
	Cameras       map[string]string // name → device
	Sensors       map[string]string // name → gpiochipN:OFFSET
	Limits        CameraLimits
	GalleryMaxAge time.Duration // default 36h

	Watchdog WatchdogSource // nil = not checked
}

// Standard is laned check's table, in the order a technician reads it.
func Standard(o Options) []Check {
	if o.StateDir == "" {
		o.StateDir = "/var/lib/laned"
	}
	if o.OutboxDir == "" {
		o.OutboxDir = o.StateDir
	}
	if o.MinFree == 0 {
		o.MinFree = 1 << 30
	}
	if o.MaxSkew == 0 {
		o.MaxSkew = 2 * time.Second
	}
	if o.GalleryMaxAge == 0 {
		o.GalleryMaxAge = 36 * time.Hour
	}
	var cs []Check
	if o.Lane != nil {
		cs = append(cs, CameraFrames(o.Lane, o.Limits), CameraImage(o.Lane, o.Limits), Sensors(o.Lane), Gallery(o.Lane, o.GalleryMaxAge, nil))
	} else {
		if len(o.Cameras) > 0 {
			cs = append(cs, CameraDevices(o.Cameras))
		}
		if len(o.Sensors) > 0 {
			cs = append(cs, SensorLines(o.Sensors))
		}
	}
	cs = append(cs, Models(o.ModelDir))
	if o.Broker != "" {
		cs = append(cs, Broker(o.Broker, o.TLS, o.AllowPlain))
	}
	cs = append(cs,
		ClockSkew(o.MaxSkew, nil, nil),
		DiskSpace(o.StateDir, o.MinFree),
		Writable("outbox writable", o.OutboxDir),
	)
	if o.Watchdog != nil {
		cs = append(cs, Watchdog(o.Watchdog))
	}
	return cs
}

// SystemdMainPID returns the main PID of a running unit through systemctl.
func SystemdMainPID(unit string) func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		out, err := exec.CommandContext(ctx, "systemctl", "show", "--property=MainPID", "--value", unit).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return 0, fmt.Errorf("%s: systemctl show: %s", unit, strings.TrimSpace(string(ee.Stderr)))
			}
			return 0, fmt.Errorf("%s: %w", unit, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("%s is not running", unit)
		}
		return pid, nil
	}
}
