package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/laned/laned/internal/check"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/console"
	"github.com/laned/laned/internal/tlsfiles"
)

func init() {
	register(&command{
		Name:  "check",
		Short: "commissioning self-test: pass/fail table, non-zero exit when anything fails",
		Usage: "[--json] [--broker URL --ca FILE] [--camera NAME=DEV]... [--sensor NAME=gpiochipN:LINE]...",
		Setup: func(fs *flag.FlagSet) runFunc {
			var o checkFlags
			fs.BoolVar(&o.json, "json", false, "print the results as JSON")
			fs.StringVar(&o.modelDir, "model-dir", "", "model directory (default as 'laned models verify')")
			fs.StringVar(&o.stateDir, "state-dir", "/var/lib/laned", "state directory (disk space)")
			fs.StringVar(&o.outboxDir, "outbox-dir", "", "outbox directory (default the state directory)")
			fs.StringVar(&o.minFree, "min-free", "1GiB", "free space the state directory needs (KiB, MiB, GiB)")
			fs.DurationVar(&o.maxSkew, "max-skew", 2*time.Second, "largest clock error allowed")
			fs.StringVar(&o.broker, "broker", "", "MQTT broker URL to reach (ssl://host:8883)")
			fs.StringVar(&o.ca, "ca", "", "CA file for the broker's chain (default: system roots)")
			fs.StringVar(&o.cert, "cert", "", "client certificate")
			fs.StringVar(&o.key, "key", "", "client key")
			fs.StringVar(&o.serverName, "server-name", "", "name the broker certificate must carry (default the URL's host)")
			fs.BoolVar(&o.allowPlain, "allow-plain", false, "accept a broker without TLS (loopback test brokers)")
			fs.Var(&o.cameras, "camera", "NAME=DEVICE of a configured camera (repeatable)")
			fs.Var(&o.sensors, "sensor", "NAME=gpiochipN:LINE of a configured sensor (repeatable)")
			fs.StringVar(&o.unit, "unit", "laned.service", `unit whose watchdog is checked ("" skips)`)
			fs.StringVar(&o.socket, "socket", config.DefaultSocket, socketUsage+"; a running daemon runs the table itself")
			fs.Var(&o.skip, "skip", "a check not to run, by name, e.g. clock on a machine without NTP (repeatable; reported as skipped)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				return runCheck(ctx, e, o)
			}
		},
	})
}

type checkFlags struct {
	json                              bool
	modelDir, stateDir, outboxDir     string
	minFree                           string
	maxSkew                           time.Duration
	broker, ca, cert, key, serverName string
	allowPlain                        bool
	cameras, sensors                  pairFlag
	unit                              string
	skip                              listFlag
	socket                            string
}

// pairFlag collects NAME=VALUE flags.
type pairFlag map[string]string

func (p *pairFlag) String() string {
	var s []string
	for k, v := range *p {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func (p *pairFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	if *p == nil {
		*p = pairFlag{}
	}
	(*p)[k] = val
	return nil
}

func parseBytes(s string) (uint64, error) {
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		m      uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a number with KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

// checkOptions turns the flags into the standard table's options.
func checkOptions(o checkFlags) (check.Options, error) {
	minFree, err := parseBytes(o.minFree)
	if err != nil {
		return check.Options{}, usageErrorf("--min-free: %v", err)
	}
	opts := check.Options{ModelDir: o.modelDir, StateDir: o.stateDir, OutboxDir: o.outboxDir, MinFree: minFree,
		MaxSkew: o.maxSkew, Broker: o.broker, AllowPlain: o.allowPlain, Cameras: o.cameras, Sensors: o.sensors}
	if o.broker != "" {
		var c *tls.Config
		if c, err = tlsfiles.Client(o.ca, o.cert, o.key, o.serverName); err != nil {
			return check.Options{}, fmt.Errorf("broker TLS: %w", err)
		}
		opts.TLS = c
	}
	switch {
	case os.Getenv("WATCHDOG_USEC") != "":
		opts.Watchdog = check.WatchdogFromEnv // inside the daemon
	case o.unit != "":
		opts.Watchdog = check.WatchdogOfPID(check.SystemdMainPID(o.unit))
	}
	return opts, nil
}

func runCheck(ctx context.Context, e *env, o checkFlags) error {
	if done, err := checkViaDaemon(ctx, e, o); done { // cmd_check_daemon.go
		return err
	}
	opts, err := checkOptions(o)
	if err != nil {
		return err
	}
	var checks []check.Check
	skipped := map[string]bool{}
	for _, c := range check.Standard(opts) {
		if slices.Contains(o.skip, c.Name) {
			skipped[c.Name] = true
			continue
		}
		checks = append(checks, c)
	}
	for _, n := range o.skip {
		if !skipped[n] {
			return usageErrorf("--skip %q: no such check", n)
		}
	}
	return reportChecks(e, o, check.Run(ctx, checks, 0))
}

// offlineChecks is the console's selftest when no daemon answers: the
// checks that need none.
func offlineChecks(modelDir string) func(ctx context.Context) []check.Result {
	return func(ctx context.Context) []check.Result {
		return check.Run(ctx, check.Standard(check.Options{ModelDir: modelDir,
			Watchdog: check.WatchdogOfPID(check.SystemdMainPID("laned.service"))}), 0)
	}
}

// consoleChecks adapts check results to the console's selftest rows.
func consoleChecks(run func(ctx context.Context) []check.Result) func(ctx context.Context) []console.CheckResult {
	return func(ctx context.Context) []console.CheckResult {
		rs := run(ctx)
		out := make([]console.CheckResult, len(rs))
		for i, r := range rs {
			out[i] = console.CheckResult{Name: r.Name, OK: r.OK, Detail: r.Detail}
		}
		return out
	}
}
