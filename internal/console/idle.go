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
// idle. Ctrl-C becomes Ctrl-U (kill the line): x/term would report it as
// io.EOF like Ctrl-D and keep it in its buffer, so every later ReadLine
// would see it again.
type idleReader struct {
	r    pollReader
	ctx  context.Context
	clk  clock.Clock
	idle time.Duration

	mu   sync.Mutex
	last time.Time
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
			ir.mu.Unlock()
			killCtrlC(p[:n])
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

// killCtrlC turns Ctrl-C into Ctrl-U in place.
func killCtrlC(p []byte) {
	for i, b := range p {
		if b == 0x03 {
			p[i] = 0x15
		}
	}
}

// KillCtrlC is killCtrlC for the interactive client's terminal.
func KillCtrlC(p []byte) { killCtrlC(p) }
