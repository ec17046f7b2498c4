package health

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/laned/laned/internal/outbox"
)

type failing struct {
	*outbox.Outbox
	fail atomic.Bool
}

func (f *failing) Enqueue(ctx context.Context, k outbox.Kind, b []byte) (outbox.Message, error) {
	if f.fail.Load() {
		return outbox.Message{}, errors.New("outbox: storage error: no space left on device")
	}
	return f.Outbox.Enqueue(ctx, k, b)
}

// waitFor waits (real time, bounded) for work a fake-clock tick started
// on another goroutine.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func writeFile(t *testing.T, p, s string) {
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
