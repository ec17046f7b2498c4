package sensor

import (
	"context"

	"github.com/laned/laned/internal/clock"
)

// Replay delivers recorded transitions to fn: in real time on clk (each
// at its At), or at once when realTime is false. It returns nil at the
// end or on cancel.
func Replay(ctx context.Context, clk clock.Clock, ts []Transition, realTime bool, fn func(Transition)) error {
	for _, t := range ts {
		if realTime {
			if d := t.At.Sub(clk.Now()); d > 0 {
				tm := clk.NewTimer(d)
				select {
				case <-ctx.Done():
					tm.Stop()
					return nil
				case <-tm.C():
				}
			}
		} else if ctx.Err() != nil {
			return nil
		}
		fn(t)
	}
	return nil
}
