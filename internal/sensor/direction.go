package sensor

import "time"

// Way says how a vehicle crossed two loops.
type Way string

const (
	// Forward: on the arrival loop first, off the departure loop last.
	Forward Way = "forward"
	// Reverse: the other way round (a vehicle driving the wrong way).
	Reverse Way = "reverse"
	// BackedOut: came onto the loops and left the way it came.
	BackedOut Way = "backed-out"
)

// Pass is one vehicle over the loop pair, from the first loop going
// active to both being inactive for good.
type Pass struct {
	Way        Way
	Start, End time.Time
	// Both says the vehicle was on both loops at some moment (a car;
	// a motorcycle is on one loop at a time).
	Both bool
}

// DefaultGap is how long a vehicle shorter than the loop spacing may take
// from leaving one loop to reaching the other.
const DefaultGap = 2 * time.Second

// Direction turns the transitions of an arrival and a departure loop
// into passes. Only Forward passes are vehicles through the lane; a
// vehicle that backs out leaves from the loop it entered by and is
// reported BackedOut. A vehicle shorter than the loop spacing (never on
// both) is followed across the gap between the loops: leaving the first
// loop only ends its pass if the other loop stays inactive for Gap, which
// Flush reports. Not safe for concurrent use: feed it from one goroutine
// (the lane's).
type Direction struct {
	// Gap: see DefaultGap.
	Gap time.Duration

	arrival, departure string
	on                 map[string]bool
	first              string
	start              time.Time
	both, other        bool // on both at once; the other loop was reached
	pending            *Pass
	pendingFirst       string
}

// NewDirection tracks the two named inputs; other inputs are ignored.
func NewDirection(arrival, departure string) *Direction {
	return &Direction{Gap: DefaultGap, arrival: arrival, departure: departure, on: map[string]bool{}}
}

func (d *Direction) opposite(in string) string {
	if in == d.arrival {
		return d.departure
	}
	return d.arrival
}

// Flush reports a pass left pending (a vehicle that left the first loop
// without reaching the other) once Gap has passed at now.
func (d *Direction) Flush(now time.Time) (Pass, bool) {
	if d.pending == nil || now.Sub(d.pending.End) <= d.Gap {
		return Pass{}, false
	}
	p := *d.pending
	d.pending = nil
	return p, true
}

// Feed takes one transition; it returns a pass when a vehicle has left
// both loops (or, for a pending one, when this transition shows it will
// not come back).
func (d *Direction) Feed(t Transition) (Pass, bool) {
	if t.Input != d.arrival && t.Input != d.departure {
		return Pass{}, false
	}
	if d.on[t.Input] == t.Active {
		return Pass{}, false // repeated level
	}
	var out Pass
	emit := false
	idle := !d.on[d.arrival] && !d.on[d.departure]
	d.on[t.Input] = t.Active
	if t.Active {
		if idle {
			if d.pending != nil {
				if t.Input == d.opposite(d.pendingFirst) && t.At.Sub(d.pending.End) <= d.Gap {
					// The short vehicle reached the other loop: same pass.
					d.first, d.start, d.both, d.other = d.pendingFirst, d.pending.Start, false, true
					d.pending = nil
					return Pass{}, false
				}
				out, emit = *d.pending, true
				d.pending = nil
			}
			d.first, d.start, d.both, d.other = t.Input, t.At, false, false
		}
		if t.Input != d.first {
			d.other = true
		}
		if d.on[d.arrival] && d.on[d.departure] {
			d.both = true
		}
		return out, emit
	}
	if d.on[d.arrival] || d.on[d.departure] || d.first == "" {
		return Pass{}, false
	}
	// Both inactive: t.Input is the loop the vehicle left by.
	p := Pass{Start: d.start, End: t.At, Both: d.both}
	first := d.first
	d.first = ""
	switch {
	case first == d.arrival && t.Input == d.departure:
		p.Way = Forward
	case first == d.departure && t.Input == d.arrival:
		p.Way = Reverse
	default:
		p.Way = BackedOut
		if !d.other {
			// Never reached the other loop: it may yet (a motorcycle).
			d.pending, d.pendingFirst = &p, first
			return Pass{}, false
		}
	}
	return p, true
}
