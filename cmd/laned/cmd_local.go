package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/localapi"
)

// Lane-side commands ask a running daemon through its local API first
// (it holds the stores locked) and open the files themselves only when no
// daemon serves the socket. docs/local-api.md lists which commands do.

// daemonClient returns a client of the daemon at socket, or nil when none
// is serving it (no socket, or a stale one nobody listens on).
func daemonClient(ctx context.Context, socket string) (*localapi.Client, error) {
	if socket == "" || socket == "none" {
		return nil, nil
	}
	c := localapi.NewClient(socket)
	if _, err := c.Status(ctx); err != nil {
		if errors.Is(err, localapi.ErrNoDaemon) {
			return nil, nil
		}
		return nil, err
	}
	return c, nil
}

const socketUsage = "local API socket of a running daemon (\"none\": never ask it, open the files)"

// galleryStatusViaDaemon prints the running daemon's gallery status; done
// is false when no daemon serves the socket.
func galleryStatusViaDaemon(ctx context.Context, e *env, socket string) (done bool, err error) {
	c, err := daemonClient(ctx, socket)
	if c == nil || err != nil {
		return err != nil, err
	}
	st, err := c.GalleryStatus(ctx)
	if err != nil {
		return true, err
	}
	if st.Version == "none" {
		fmt.Fprintf(e.Stdout, "no active gallery (highest version ever activated: %d)\n", st.Store.Highest)
	} else {
		fmt.Fprintf(e.Stdout, "gallery version %s, %d subjects, model %s, created %s, expires %s\n",
			st.Version, st.Store.Subjects, st.ModelID, st.Created.Format(time.RFC3339), st.Expires.Format(time.RFC3339))
		fmt.Fprintf(e.Stdout, "served by the running daemon: %d subjects matchable, index built %s", st.Subjects, st.LoadedAt.Format(time.RFC3339))
		if !st.NextBoundary.IsZero() {
			fmt.Fprintf(e.Stdout, ", rebuilt at %s", st.NextBoundary.Format(time.RFC3339))
		}
		fmt.Fprintln(e.Stdout)
	}
	if st.LastSyncErr != "" {
		fmt.Fprintf(e.Stdout, "last sync %s failed: %s\n", st.LastSync.Format(time.RFC3339), st.LastSyncErr)
	}
	if st.Level != health.OK {
		fmt.Fprintf(e.Stdout, "DEGRADED: %s\n", st.Reason)
		return true, errors.New("gallery degraded")
	}
	fmt.Fprintln(e.Stdout, "ok")
	return true, nil
}

// galleryImportViaDaemon streams the bundle to the running daemon, which
// verifies, imports and swaps it in (and audits who asked).
func galleryImportViaDaemon(ctx context.Context, e *env, socket, path string) (done bool, err error) {
	c, err := daemonClient(ctx, socket)
	if c == nil || err != nil {
		return err != nil, err
	}
	f, err := openRegular(path)
	if err != nil {
		return true, err
	}
	defer f.Close()
	start := time.Now()
	m, err := c.GalleryImport(ctx, f)
	if err != nil {
		return true, fmt.Errorf("%s refused, active gallery unchanged: %w", path, err)
	}
	fmt.Fprintf(e.Stdout, "imported %s through the running daemon: gallery version %d (%s), %d subjects, in %.1f s\n",
		path, m.Version, m.Kind, m.ResultCount, time.Since(start).Seconds())
	return true, nil
}

// openRegular opens a regular file, refusing FIFOs, devices and
// directories before open(2) could block on them.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	return os.Open(path)
}
