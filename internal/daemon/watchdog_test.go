package daemon

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notifySocket is a fake $NOTIFY_SOCKET: every datagram systemd would get.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// expect reads notifications until one contains want, failing after 20 s.
func expect(t *testing.T, ch <-chan string, want string) (skipped []string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-ch:
			if strings.Contains(m, want) {
				return skipped
			}
			skipped = append(skipped, m)
		case <-timeout:
			t.Fatalf("no %q notification; got %q", want, skipped)
		}
	}
}

// TestWatchdogStopsWhenLaneLoopBlocks runs the daemon under a fake
// systemd: READY once the graph answers, WATCHDOG=1 pings while the lane's
// heartbeat (registered through Graph.Watchdog) beats, no more pings and a
// "stuck" status once the loop blocks, STOPPING on shutdown.
func TestWatchdogStopsWhenLaneLoopBlocks(t *testing.T) {
	notes := notifySocket(t)
	const usec = 300 * time.Millisecond // pings every 150 ms, stale after 300 ms
	t.Setenv("WATCHDOG_USEC", "300000")
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, "tcp://127.0.0.1:1")
	block := make(chan struct{})
	d, err := New(cfg, Deps{ModelID: testModel, Dim: testDim, Log: slog.New(slog.DiscardHandler),
		Extra: []func(*Graph) (Component, error){func(g *Graph) (Component, error) {
			return &laneLoop{hb: g.Watchdog.Heartbeat("lane"), block: block}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	if before := expect(t, notes, "READY=1"); len(before) > 0 {
		t.Logf("before READY: %q", before)
	}
	for range 3 {
		expect(t, notes, "WATCHDOG=1")
	}
	close(block) // the lane's loop hangs
	expect(t, notes, "STATUS=stuck: lane")
	quiet := time.After(5 * usec) // 10 ping intervals
	for waiting := true; waiting; {
		select {
		case m := <-notes:
			if strings.Contains(m, "WATCHDOG=1") {
				t.Fatalf("pinged with the lane loop blocked")
			}
		case <-quiet:
			waiting = false
		}
	}
	if s := d.Watchdog.Stuck(); !strings.HasPrefix(s, "lane ") {
		t.Errorf("Stuck() = %q", s)
	}
	cancel()
	expect(t, notes, "STOPPING=1")
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// laneLoop beats on every turn until block is closed, then hangs (until
// shutdown, so that the test ends).
type laneLoop struct {
	hb    interface{ Beat() }
	block chan struct{}
}

func (l *laneLoop) Run(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.block:
			<-ctx.Done()
			return nil
		case <-t.C:
			l.hb.Beat()
		}
	}
}

func (l *laneLoop) Close() error { return nil }
