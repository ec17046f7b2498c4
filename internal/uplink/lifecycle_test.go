package uplink

import (
	"context"
	"testing"
	"time"
)

// TestLifecycle: the contract of package internal (doc.go): Run returns
// nil when its context is cancelled (here while it keeps retrying an
// unreachable broker), and Close after that, twice, is fine.
func TestLifecycle(t *testing.T) {
	p, err := New(Options{Config: testConfig("tcp://127.0.0.1:1"), Outbox: openOutbox(t, ""), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	waitStatus(t, p, 5*time.Second, "connecting", func(s Status) bool { return s.State == StateConnecting })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v, want nil", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
