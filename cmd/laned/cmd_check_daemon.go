package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/laned/laned/internal/check"
)

// checkViaDaemon runs laned check's table inside the running daemon (its
// gallery, outbox, broker connection settings, watchdog; the lane's
// cameras and sensors once it runs one), through the local API. done is
// false when no daemon serves the socket: the caller runs the offline
// table then.
func checkViaDaemon(ctx context.Context, e *env, o checkFlags) (done bool, err error) {
	c, err := daemonClient(ctx, o.socket)
	if c == nil || err != nil {
		return err != nil, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return true, err
	}
	rows, err := c.Console().Selftest(ctx)
	if err != nil {
		return true, fmt.Errorf("laned check through the running daemon: %w", err)
	}
	var rs []check.Result
	names := map[string]bool{}
	for _, r := range rows {
		names[r.Name] = true
		if slices.Contains(o.skip, r.Name) {
			continue
		}
		rs = append(rs, check.Result{Name: r.Name, OK: r.OK, Detail: r.Detail})
	}
	for _, n := range o.skip {
		if !names[n] {
			return true, usageErrorf("--skip %q: no such check in the daemon's table", n)
		}
	}
	fmt.Fprintf(e.Stderr, "laned check: checks run by the running daemon (pid %d, %s) on %s\n", st.PID, st.Version, o.socket)
	return true, reportChecks(e, o, rs)
}

// reportChecks prints the table (or JSON) and fails naming the failures.
func reportChecks(e *env, o checkFlags, rs []check.Result) error {
	var err error
	if o.json {
		err = check.WriteJSON(e.Stdout, rs, time.Now())
	} else {
		err = check.WriteTable(e.Stdout, rs)
	}
	if err != nil {
		return err
	}
	if len(o.skip) > 0 {
		fmt.Fprintf(e.Stderr, "laned check: skipped: %s\n", strings.Join(o.skip, ", "))
	}
	if bad := check.Failed(rs); len(bad) > 0 {
		names := make([]string, len(bad))
		for i, r := range bad {
			names[i] = r.Name
		}
		return errors.New("failed: " + strings.Join(names, ", "))
	}
	return nil
}
