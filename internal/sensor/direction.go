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

// Pass is one occupancy of the loop pair, from the first loop going
// active to both being inactive again.
type Pass struct {
	Way        Way
	Start, End time.Time
	// Both says the vehicle was on both loops at some moment.
	Both bool
}

// Direction turns the transitions of an arrival and a departure loop
// into passes. Only Forward passes are vehicles through the lane; a
// vehicle that backs out leaves from the loop it entered by and is
// reported BackedOut. Not safe for concurrent use: feed it from one
// goroutine (the lane's).
type Direction struct {
	arrival, departure string
	on                 map[string]bool
	first              string
	start              time.Time
	both               bool
}

// NewDirection tracks the two named inputs; other inputs are ignored.
func NewDirection(arrival, departure string) *Direction {
	return &Direction{arrival: arrival, departure: departure, on: map[string]bool{}}
}

// Feed takes one transition; it returns a pass when the vehicle has left
// both loops.
func (d *Direction) Feed(t Transition) (Pass, bool) {
	if t.Input != d.arrival && t.Input != d.departure {
		return Pass{}, false
	}
	if d.on[t.Input] == t.Active {
		return Pass{}, false // repeated level
	}
	idle := !d.on[d.arrival] && !d.on[d.departure]
	d.on[t.Input] = t.Active
	if t.Active {
		if idle {
			d.first, d.start, d.both = t.Input, t.At, false
		}
		if d.on[d.arrival] && d.on[d.departure] {
			d.both = true
		}
		return Pass{}, false
	}
	if d.on[d.arrival] || d.on[d.departure] || d.first == "" {
		return Pass{}, false
	}
	// Both inactive: t.Input is the loop the vehicle left by.
	p := Pass{Start: d.start, End: t.At, Both: d.both}
	switch {
	case d.first == d.arrival && t.Input == d.departure:
		p.Way = Forward
	case d.first == d.departure && t.Input == d.arrival:
		p.Way = Reverse
	default:
		p.Way = BackedOut
	}
	d.first = ""
	return p, true
}
