package console

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/laned/laned/internal/clock"
)

// errIdle ends a session that saw no input for the idle timeout.
var errIdle = errors.New("idle timeout")

// pollReader is a reader whose Read returns (0, nil) when nothing arrived
// within its poll interval: go.bug.st/serial's read timeout does exactly
// that, and the socket transport maps its read deadline to it.
type pollReader interface {
	Read(p []byte) (int, error)
}

// idleReader turns a polling reader into a blocking one that gives up when
// ctx is done or, measured on the injected clock, no byte arrived for
// idle. It also notes whether the last chunk held Ctrl-C, which
// x/term reports as io.EOF like Ctrl-D.
type idleReader struct {
	r    pollReader
	ctx  context.Context
	clk  clock.Clock
	idle time.Duration

	mu    sync.Mutex
	last  time.Time
	ctrlC bool
}

func newIdleReader(ctx context.Context, r pollReader, clk clock.Clock, idle time.Duration) *idleReader {
	return &idleReader{r: r, ctx: ctx, clk: clk, idle: idle, last: clk.Now()}
}

func (ir *idleReader) Read(p []byte) (int, error) {
	for {
		if err := ir.ctx.Err(); err != nil {
			return 0, err
		}
		n, err := ir.r.Read(p)
		if n > 0 {
			ir.mu.Lock()
			ir.last = ir.clk.Now()
			ir.ctrlC = false
			for _, b := range p[:n] {
				if b == 0x03 {
					ir.ctrlC = true
				}
			}
			ir.mu.Unlock()
			return n, nil
		}
		if err != nil {
			if err == io.EOF {
				return 0, io.ErrUnexpectedEOF // the line went away: not a Ctrl-D
			}
			return 0, err
		}
		if ir.expired() {
			return 0, errIdle
		}
	}
}

// touch restarts the idle time (a command just finished).
func (ir *idleReader) touch() {
	ir.mu.Lock()
	ir.last = ir.clk.Now()
	ir.mu.Unlock()
}

func (ir *idleReader) expired() bool {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.idle > 0 && ir.clk.Now().Sub(ir.last) >= ir.idle
}

// sawCtrlC reports whether the last input held Ctrl-C.
func (ir *idleReader) sawCtrlC() bool {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.ctrlC
}
