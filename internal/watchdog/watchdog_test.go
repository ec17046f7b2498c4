package watchdog

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
)

// notifySocket listens like systemd on a unixgram socket and points
// NOTIFY_SOCKET at it, so the real go-systemd client is exercised.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", p)
	return c
}

// queued returns the datagrams already delivered (sendto on a unixgram
// socket has queued them by the time it returns).
func queued(t *testing.T, c *net.UnixConn) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

func count(msgs []string, s string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

func TestPingsStopWhenTheLaneLoopBlocks(t *testing.T) {
	sock := notifySocket(t)
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	w, err := New(Options{Clock: clk, Interval: 5 * time.Second}) // WatchdogSec=10
	if err != nil {
		t.Fatal(err)
	}
	ticked := make(chan struct{})
	w.afterTick = func() { ticked <- struct{}{} }
	if err := w.Ready("lane 3 running"); err != nil {
		t.Fatal(err)
	}
	if got := queued(t, sock); len(got) != 1 || got[0] != "READY=1\nSTATUS=lane 3 running" {
		t.Fatalf("ready: %q", got)
	}

	// The lane's main loop: one turn per work item, a beat per turn. A
	// blocking item stands for a hung camera read or inference call.
	hb := w.Heartbeat("lane")
	work := make(chan func())
	turned := make(chan struct{})
	go func() {
		for f := range work {
			f()
			hb.Beat()
			turned <- struct{}{}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	clk.BlockUntil(1)

	step := func() { clk.Advance(5 * time.Second); <-ticked }
	for i := 0; i < 3; i++ { // the loop turns between pings
		work <- func() {}
		<-turned
		step()
	}
	if got := queued(t, sock); count(got, "WATCHDOG=1") != 3 {
		t.Fatalf("while the loop runs: %q, want 3 pings", got)
	}

	unblock := make(chan struct{})
	work <- func() { <-unblock } // the loop hangs
	step()                       // 5 s since the last beat: still within Stale (10 s)
	if got := queued(t, sock); count(got, "WATCHDOG=1") != 1 {
		t.Fatalf("just after the hang: %q, want one last ping", got)
	}
	for i := 0; i < 4; i++ {
		step()
	}
	got := queued(t, sock)
	if count(got, "WATCHDOG=1") != 0 || count(got, "STATUS=stuck: lane (no progress for 15s)") != 1 {
		t.Fatalf("hung loop: %q, want no ping and one stuck status", got)
	}
	if w.Stuck() == "" {
		t.Fatal("Stuck() empty while the loop hangs")
	}

	close(unblock) // the loop recovers before systemd acted
	<-turned
	step()
	got = queued(t, sock)
	if count(got, "WATCHDOG=1") != 1 || count(got, "STATUS=running") != 1 {
		t.Fatalf("after recovery: %q", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	close(work)
	if err := w.Close(); err != nil || w.Close() != nil {
		t.Fatal("Close not idempotent")
	}
}

func TestIntervalFromEnvironment(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "20000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	d, on, err := Interval()
	if err != nil || !on || d != 10*time.Second {
		t.Fatalf("armed: %v %v %v", d, on, err)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if _, on, _ := Interval(); on {
		t.Fatal("armed for another PID")
	}
	os.Unsetenv("WATCHDOG_USEC")
	if _, on, err := Interval(); on || err != nil {
		t.Fatalf("unset: %v %v", on, err)
	}
}

func TestNoNotifySocketIsQuiet(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	w, _ := New(Options{})
	if err := w.Ready("x"); err != nil {
		t.Fatalf("outside systemd: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
}
