package sensor

import (
	"fmt"
	"time"
)

// Transition is one debounced change of a presence input: a loop, a
// light curtain, or a camera's virtual loop (internal/trigger).
type Transition struct {
	Input  string
	Active bool // true: a vehicle is present
	// At is when the input changed, on the capture clock (the first edge
	// of a debounced change; a video trigger uses the frame's time).
	At time.Time
}

func (t Transition) String() string {
	s := "inactive"
	if t.Active {
		s = "active"
	}
	return fmt.Sprintf("%s %s at %s", t.Input, s, t.At.Format("15:04:05.000"))
}

// FaultKind names a sensor fault.
type FaultKind string

const (
	// FaultStuckOn: active longer than the longest presence (a loop
	// detector fails safe this way).
	FaultStuckOn FaultKind = "stuck-on"
	// FaultStuckOff: inactive while the video trigger saw vehicles.
	FaultStuckOff FaultKind = "stuck-off"
	// FaultChatter: more edges per second than a vehicle can cause.
	FaultChatter FaultKind = "chatter"
)

// Fault is a fault raised (Raised true, latched) or cleared by recovery.
type Fault struct {
	Input  string
	Kind   FaultKind
	Raised bool
	At     time.Time
	Detail string
}

func (f Fault) String() string {
	v := "cleared"
	if f.Raised {
		v = "raised"
	}
	return fmt.Sprintf("%s %s %s: %s", f.Input, f.Kind, v, f.Detail)
}
