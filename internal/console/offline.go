package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"

	"github.com/laned/laned/internal/models"
)

// ErrNoDaemon is what the offline backend answers for everything that
// needs the running lane.
var ErrNoDaemon = errors.New("the lane daemon is not reachable (systemctl status laned)")

// Offline is the backend of a console that has no daemon to talk to: a
// booth whose daemon is down still answers models, selftest and log tail,
// which is what a technician needs to find out why.
type Offline struct {
	ModelDir string
	// Checks runs the commissioning checks (laned check's table); nil
	// reports ErrNoDaemon.
	Checks func(ctx context.Context) []CheckResult
	// Journal is the journalctl command used by log tail (default
	// journalctl); "" with JournalUnit "" disables.
	Journal     string
	JournalUnit string // default laned.service
}

var _ Backend = (*Offline)(nil)

func (o *Offline) Status(context.Context) (Status, error) {
	return Status{State: "daemon not reachable", Problems: []string{ErrNoDaemon.Error()}}, nil
}
func (o *Offline) Cameras(context.Context) ([]Camera, error) { return nil, ErrNoDaemon }
func (o *Offline) SetControl(context.Context, string, string, int64) (Control, error) {
	return Control{}, ErrNoDaemon
}
func (o *Offline) Snapshot(context.Context, string) (Snapshot, error) { return Snapshot{}, ErrNoDaemon }
func (o *Offline) Focus(context.Context, string, func(FocusReading) error) error {
	return ErrNoDaemon
}
func (o *Offline) Sensors(context.Context) ([]Sensor, error)                  { return nil, ErrNoDaemon }
func (o *Offline) WatchSensors(context.Context, func(SensorEdge) error) error { return ErrNoDaemon }
func (o *Offline) TriggerTest(context.Context) (TestResult, error)            { return TestResult{}, ErrNoDaemon }
func (o *Offline) GalleryInfo(context.Context) (GalleryInfo, error) {
	return GalleryInfo{}, ErrNoDaemon
}
func (o *Offline) GallerySync(context.Context) (GalleryInfo, error) {
	return GalleryInfo{}, ErrNoDaemon
}
func (o *Offline) GalleryImport(context.Context, string) (GalleryInfo, error) {
	return GalleryInfo{}, ErrNoDaemon
}
func (o *Offline) Outbox(context.Context) (OutboxInfo, error)      { return OutboxInfo{}, ErrNoDaemon }
func (o *Offline) OutboxRetry(context.Context) (OutboxInfo, error) { return OutboxInfo{}, ErrNoDaemon }
func (o *Offline) Config(context.Context) (map[string]any, error)  { return nil, ErrNoDaemon }
func (o *Offline) Events(context.Context, int, bool, func(Event) error) error {
	return ErrNoDaemon
}

// Models verifies every model file of the embedded manifest.
func (o *Offline) Models(context.Context) ([]Model, error) {
	dir := o.ModelDir
	if dir == "" {
		d, err := models.Dir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	set, err := models.Open(dir)
	if err != nil {
		return nil, err
	}
	m, err := models.Embedded()
	if err != nil {
		return nil, err
	}
	var out []Model
	for _, dest := range m.Files() {
		sum, _ := m.SHA256(dest)
		if _, err := set.Path(dest); err != nil {
			out = append(out, Model{Name: dest, SHA256: sum, Error: err.Error()})
			continue
		}
		out = append(out, Model{Name: dest, SHA256: sum, OK: true})
	}
	return out, nil
}

// Selftest runs Checks.
func (o *Offline) Selftest(ctx context.Context) ([]CheckResult, error) {
	if o.Checks == nil {
		return nil, ErrNoDaemon
	}
	return o.Checks(ctx), nil
}

// LogTail reads the unit's journal with journalctl.
func (o *Offline) LogTail(ctx context.Context, n int, follow bool, fn func(string) error) error {
	cmd := o.Journal
	if cmd == "" {
		cmd = "journalctl"
	}
	unit := o.JournalUnit
	if unit == "" {
		unit = "laned.service"
	}
	args := []string{"-u", unit, "-n", strconv.Itoa(n), "-o", "short-iso", "--no-pager", "-q"}
	if follow {
		args = append(args, "-f")
	}
	c := exec.CommandContext(ctx, cmd, args...)
	out, err := c.StdoutPipe()
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("log tail: %w", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if err := fn(sc.Text()); err != nil {
			c.Process.Kill()
			c.Wait()
			return err
		}
	}
	err = c.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("log tail: %s: %w", cmd, err)
	}
	return nil
}
