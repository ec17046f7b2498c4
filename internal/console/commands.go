package console

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"
)

// commandTable is every console command with its minimum role. Snapshots
// (biometric), test vehicles and anything that changes state need the
// technician role.
func commandTable() []*cmdSpec {
	v, t := RoleViewer, RoleTechnician
	return []*cmdSpec{
		{path: []string{"help"}, args: "[COMMAND]", help: "list commands, or show one command's usage", role: v, nargs: [2]int{0, 3}, run: cmdHelp},
		{path: []string{"whoami"}, help: "who you are logged in as, and your role", role: v, run: cmdWhoami},
		{path: []string{"logout"}, help: "end this session", role: v, run: cmdLogout},
		{path: []string{"exit"}, help: "end this session", role: v, run: cmdLogout},
		{path: []string{"quit"}, help: "end this session", role: v, run: cmdLogout},
		{path: []string{"status"}, help: "daemon state, lane identity, problems", role: v, run: cmdStatus},
		{path: []string{"cameras"}, help: "cameras: device, format, configured and measured fps", role: v, run: cmdCameras},
		{path: []string{"cameras", "get"}, args: "CAM [CONTROL]", help: "a camera's controls", role: v, nargs: [2]int{1, 2}, run: cmdCameraGet},
		{path: []string{"cameras", "set"}, args: "CAM CONTROL VALUE", help: "set a camera control", role: t, nargs: [2]int{3, 3}, run: cmdCameraSet},
		{path: []string{"snapshot"}, args: "CAM [FILE]", help: "a JPEG with face boxes and quality figures, for aiming (biometric: not stored by the daemon)", role: t, nargs: [2]int{1, 2}, run: cmdSnapshot},
		{path: []string{"focus"}, args: "CAM [SECONDS]", help: "live sharpness figure to turn the lens by", role: v, nargs: [2]int{1, 2}, stream: true, run: cmdFocus},
		{path: []string{"sensors"}, help: "presence sensors: state and edge counts", role: v, run: cmdSensors},
		{path: []string{"sensors", "watch"}, args: "[SECONDS]", help: "print every sensor edge as it happens", role: v, nargs: [2]int{0, 1}, stream: true, run: cmdSensorsWatch},
		{path: []string{"trigger", "test"}, help: "drive a simulated vehicle through the real pipeline (summary marked test)", role: t, run: cmdTriggerTest},
		{path: []string{"gallery"}, help: "the active gallery (same as gallery info)", role: v, run: cmdGalleryInfo},
		{path: []string{"gallery", "info"}, help: "the active gallery: version, subjects, age", role: v, run: cmdGalleryInfo},
		{path: []string{"gallery", "sync"}, help: "pull the gallery from the central office now", role: t, run: cmdGallerySync},
		{path: []string{"gallery", "import"}, args: "FILE", help: "import a signed gallery bundle that is on the booth", role: t, nargs: [2]int{1, 1}, run: cmdGalleryImport},
		{path: []string{"outbox"}, help: "outbox depth, oldest record, quarantine, uplink", role: v, run: cmdOutbox},
		{path: []string{"outbox", "retry"}, help: "retry publishing the outbox now", role: t, run: cmdOutboxRetry},
		{path: []string{"models"}, help: "model files and their checksums", role: v, run: cmdModels},
		{path: []string{"config", "show"}, help: "the effective configuration, secrets redacted", role: v, run: cmdConfigShow},
		{path: []string{"log", "tail"}, args: "[N] [-f]", help: "the last N log lines (default 20), -f to follow", role: v, nargs: [2]int{0, 2}, run: cmdLogTail},
		{path: []string{"events"}, args: "[N] [-f]", help: "the last N events (default 20), -f to follow", role: v, nargs: [2]int{0, 2}, run: cmdEvents},
		{path: []string{"selftest"}, help: "run the commissioning checks (laned check)", role: v, run: cmdSelftest},
	}
}

func cmdHelp(_ context.Context, c *call) error {
	if len(c.args) > 0 {
		spec, rest := c.in.lookup(c.args)
		if spec == nil || len(rest) > 0 {
			return fmt.Errorf("no command %q", strings.Join(c.args, " "))
		}
		c.printf("%s %s\n  %s\n  role: %s\n", spec.name(), spec.args, spec.help, spec.role)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	for _, s := range c.in.cmds {
		mark := ""
		if c.id.Role < s.role {
			mark = " [" + s.role.String() + "]"
		}
		fmt.Fprintf(tw, "%s %s\t%s%s\n", s.name(), s.args, s.help, mark)
	}
	return tw.Flush()
}

func cmdWhoami(_ context.Context, c *call) error {
	c.printf("%s (%s) via %s\n", c.id.User, c.id.Role, c.id.Transport)
	return nil
}

func cmdLogout(_ context.Context, c *call) error {
	c.printf("bye\n")
	return ErrLogout
}

func cmdStatus(ctx context.Context, c *call) error {
	s, err := c.in.backend.Status(ctx)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if s.Version != "" {
		c.printf("laned %s  site %s  lane %s\n", s.Version, orDash(s.Site), orDash(s.Lane))
	}
	c.printf("state %s", s.State)
	if s.Uptime > 0 {
		c.printf("  up %s", s.Uptime.Round(time.Second))
	}
	c.printf("\n")
	if len(s.Parts) > 0 {
		tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
		for _, k := range sortedKeys(s.Parts) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, s.Parts[k])
		}
		tw.Flush()
	}
	for _, p := range s.Problems {
		c.printf("problem: %s\n", p)
	}
	return nil
}

func cmdCameras(ctx context.Context, c *call) error {
	cams, err := c.in.backend.Cameras(ctx)
	if err != nil {
		return fmt.Errorf("cameras: %w", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMERA\tDEVICE\tFORMAT\tFPS\tWANT\tSTATE")
	for _, cam := range cams {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.0f\t%s\n", cam.Name, cam.Device, cam.Format, cam.FPS, cam.Want, cam.State)
	}
	return tw.Flush()
}

func findCamera(ctx context.Context, c *call, name string) (Camera, error) {
	cams, err := c.in.backend.Cameras(ctx)
	if err != nil {
		return Camera{}, fmt.Errorf("cameras: %w", err)
	}
	var names []string
	for _, cam := range cams {
		if cam.Name == name {
			return cam, nil
		}
		names = append(names, cam.Name)
	}
	return Camera{}, fmt.Errorf("no camera %q (have: %s)", name, strings.Join(names, ", "))
}

func cmdCameraGet(ctx context.Context, c *call) error {
	cam, err := findCamera(ctx, c, c.args[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTROL\tVALUE\tMIN\tMAX\tDEFAULT")
	found := false
	for _, k := range cam.Controls {
		if len(c.args) == 2 && k.Name != c.args[1] {
			continue
		}
		found = true
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", k.Name, k.Value, k.Min, k.Max, k.Def)
	}
	if len(c.args) == 2 && !found {
		return fmt.Errorf("camera %s has no control %q", cam.Name, c.args[1])
	}
	return tw.Flush()
}

func cmdCameraSet(ctx context.Context, c *call) error {
	v, err := strconv.ParseInt(c.args[2], 10, 64)
	if err != nil {
		return fmt.Errorf("value %q: want an integer", c.args[2])
	}
	k, err := c.in.backend.SetControl(ctx, c.args[0], c.args[1], v)
	if err != nil {
		return fmt.Errorf("cameras set %s %s: %w", c.args[0], c.args[1], err)
	}
	c.printf("%s %s = %d\n", c.args[0], k.Name, k.Value)
	return nil
}

func cmdSnapshot(ctx context.Context, c *call) error {
	s, err := c.in.backend.Snapshot(ctx, c.args[0])
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", c.args[0], err)
	}
	c.printf("%s %dx%d at %s  sharpness %.0f  brightness %.0f  faces %d\n",
		s.Camera, s.Width, s.Height, s.Taken.UTC().Format(time.RFC3339), s.Sharp, s.Bright, len(s.Faces))
	for i, f := range s.Faces {
		c.printf("  face %d at %d,%d %dx%d  score %.2f  quality %.2f  %s\n", i+1, f.X, f.Y, f.W, f.H, f.Score, f.Quality, f.Verdict)
	}
	name := s.Camera + "-" + s.Taken.UTC().Format("20060102T150405Z") + ".jpg"
	if len(c.args) == 2 {
		name = c.args[1]
	}
	if err := c.out.File(name, s.JPEG); err != nil {
		if errors.Is(err, ErrNoFile) {
			c.printf("(image not sent: %v)\n", err)
			return nil
		}
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	c.printf("image: %s (%d bytes)\n", name, len(s.JPEG))
	return nil
}

func cmdFocus(ctx context.Context, c *call) error {
	d, err := seconds(c.args, 1, DefaultFocus, MaxFollow)
	if err != nil {
		return err
	}
	ctx, cancel := withClockTimeout(ctx, c.in.clock, d)
	defer cancel()
	c.printf("focus %s for %s: turn the lens until SHARP stops rising; any key stops\n", c.args[0], d)
	err = c.in.backend.Focus(ctx, c.args[0], func(r FocusReading) error {
		bar := int(40 * r.Sharp / max(r.Best, 1))
		c.printf("sharp %7.0f  best %7.0f  faces %d  %s\n", r.Sharp, r.Best, r.Faces, strings.Repeat("#", min(max(bar, 0), 40)))
		return nil
	})
	return streamEnd(ctx, err)
}

// streamEnd turns the end of a bounded stream into success.
func streamEnd(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

func cmdSensors(ctx context.Context, c *call) error {
	ss, err := c.in.backend.Sensors(ctx)
	if err != nil {
		return fmt.Errorf("sensors: %w", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SENSOR\tLINE\tLEVEL\tEDGES\tSTATE")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Name, s.Line, level(s.Active), s.Edges, s.State)
	}
	return tw.Flush()
}

func level(a bool) string {
	if a {
		return "active"
	}
	return "idle"
}

func cmdSensorsWatch(ctx context.Context, c *call) error {
	d, err := seconds(c.args, 0, DefaultWatch, MaxFollow)
	if err != nil {
		return err
	}
	ctx, cancel := withClockTimeout(ctx, c.in.clock, d)
	defer cancel()
	c.printf("watching sensors for %s; any key stops\n", d)
	err = c.in.backend.WatchSensors(ctx, func(e SensorEdge) error {
		c.printf("%s  %-12s %-6s edges %d\n", e.At.UTC().Format("15:04:05.000"), e.Name, level(e.Active), e.Edges)
		return nil
	})
	return streamEnd(ctx, err)
}

func cmdTriggerTest(ctx context.Context, c *call) error {
	r, err := c.in.backend.TriggerTest(ctx)
	if err != nil {
		return fmt.Errorf("trigger test: %w", err)
	}
	c.printf("test vehicle %s: %s, %d occupants, %s, summary queued: %v\n", r.Transaction, r.Decision, r.Occupants, r.Latency.Round(time.Millisecond), r.Queued)
	return nil
}

func printGallery(c *call, g GalleryInfo) {
	age := "never loaded"
	if !g.LoadedAt.IsZero() {
		age = c.in.clock.Now().Sub(g.Built).Round(time.Minute).String() + " old"
	}
	c.printf("gallery %s  subjects %d  %s  state %s\n", orDash(g.Version), g.Subjects, age, g.State)
	if !g.NextSync.IsZero() {
		c.printf("next sync %s\n", g.NextSync.UTC().Format(time.RFC3339))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdGalleryInfo(ctx context.Context, c *call) error {
	g, err := c.in.backend.GalleryInfo(ctx)
	if err != nil {
		return fmt.Errorf("gallery: %w", err)
	}
	printGallery(c, g)
	return nil
}

func cmdGallerySync(ctx context.Context, c *call) error {
	g, err := c.in.backend.GallerySync(ctx)
	if err != nil {
		return fmt.Errorf("gallery sync: %w", err)
	}
	printGallery(c, g)
	return nil
}

func cmdGalleryImport(ctx context.Context, c *call) error {
	g, err := c.in.backend.GalleryImport(ctx, c.args[0])
	if err != nil {
		return fmt.Errorf("gallery import %s: %w", c.args[0], err)
	}
	printGallery(c, g)
	return nil
}

func printOutbox(c *call, o OutboxInfo) {
	c.printf("outbox depth %d  oldest %s  quarantined %d  uplink %s\n", o.Depth, o.Oldest.Round(time.Second), o.Quarantined, o.Uplink)
}

func cmdOutbox(ctx context.Context, c *call) error {
	o, err := c.in.backend.Outbox(ctx)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	printOutbox(c, o)
	return nil
}

func cmdOutboxRetry(ctx context.Context, c *call) error {
	o, err := c.in.backend.OutboxRetry(ctx)
	if err != nil {
		return fmt.Errorf("outbox retry: %w", err)
	}
	printOutbox(c, o)
	return nil
}

func cmdModels(ctx context.Context, c *call) error {
	ms, err := c.in.backend.Models(ctx)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	bad := 0
	for _, m := range ms {
		if m.OK {
			c.printf("ok    %s  %s\n", m.Name, short(m.SHA256))
		} else {
			bad++
			c.printf("FAIL  %s  %s\n", m.Name, m.Error)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d model files missing or altered", bad)
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func cmdConfigShow(ctx context.Context, c *call) error {
	tree, err := c.in.backend.Config(ctx)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	b, err := yaml.Marshal(c.in.redact.Tree(tree))
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	_, err = c.out.Write(b)
	return err
}

// tailArgs parses "[N] [-f]".
func tailArgs(args []string) (n int, follow bool, err error) {
	n = 20
	for _, a := range args {
		if a == "-f" || a == "--follow" {
			follow = true
			continue
		}
		v, err := strconv.Atoi(a)
		if err != nil || v < 0 || v > 10000 {
			return 0, false, fmt.Errorf("line count %q: want 0 to 10000", a)
		}
		n = v
	}
	return n, follow, nil
}

func cmdLogTail(ctx context.Context, c *call) error {
	n, follow, err := tailArgs(c.args)
	if err != nil {
		return err
	}
	ctx, cancel := withClockTimeout(ctx, c.in.clock, MaxFollow)
	defer cancel()
	err = c.in.backend.LogTail(ctx, n, follow, func(line string) error {
		c.printf("%s\n", strings.TrimRight(line, "\r\n"))
		return nil
	})
	return streamEnd(ctx, err)
}

func cmdEvents(ctx context.Context, c *call) error {
	n, follow, err := tailArgs(c.args)
	if err != nil {
		return err
	}
	ctx, cancel := withClockTimeout(ctx, c.in.clock, MaxFollow)
	defer cancel()
	err = c.in.backend.Events(ctx, n, follow, func(e Event) error {
		c.printf("%s  %-7s %-16s %s\n", e.At.UTC().Format(time.RFC3339), e.Severity, e.Kind, e.Text)
		return nil
	})
	return streamEnd(ctx, err)
}

func cmdSelftest(ctx context.Context, c *call) error {
	rs, err := c.in.backend.Selftest(ctx)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	bad := 0
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		mark := "PASS"
		if !r.OK {
			mark = "FAIL"
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, r.Name, r.Detail)
	}
	tw.Flush()
	if bad > 0 {
		return fmt.Errorf("%d of %d checks failed", bad, len(rs))
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
