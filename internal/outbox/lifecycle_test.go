package outbox

import (
	"context"
	"path/filepath"
	"testing"
)

// TestLifecycle: the contract of package internal (doc.go): Run returns
// nil on cancellation, Close is idempotent and ends Run too.
func TestLifecycle(t *testing.T) {
	ob, err := Open(filepath.Join(t.TempDir(), "outbox.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ob.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v, want nil", err)
	}
	go func() { done <- ob.Run(context.Background()) }()
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run on Close: %v, want nil", err)
	}
	if err := ob.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
