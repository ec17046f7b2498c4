package lane

import (
	"maps"
	"slices"
	"time"
)

// CameraStats is one camera as the lane saw it.
type CameraStats struct {
	Name       string    `json:"name"`
	Offered    uint64    `json:"offered"`     // frames handed to the lane
	Analysed   uint64    `json:"analysed"`    // frames through the analysis API
	Skipped    uint64    `json:"skipped"`     // replaced by a newer frame during capture, never analysed
	Idle       uint64    `json:"idle"`        // not analysed: no vehicle present
	DriverGaps uint64    `json:"driver_gaps"` // sequence numbers missing (dropped before the lane)
	Errors     uint64    `json:"errors"`      // analysis errors (corrupt frames …)
	Faces      uint64    `json:"faces"`       // in-zone detections
	LastFrame  time.Time `json:"last_frame"`  // capture time of the latest frame
	Fault      string    `json:"fault,omitempty"`
}

// InputStats is one presence input.
type InputStats struct {
	Name   string    `json:"name"`
	Active bool      `json:"active"`
	Since  time.Time `json:"since"`
	Fault  string    `json:"fault,omitempty"`
}

// Stats is a snapshot of the lane for health, metrics and the console.
type Stats struct {
	State           State          `json:"state"`
	Trigger         string         `json:"trigger"` // in use now: loop or video
	Cameras         []CameraStats  `json:"cameras"`
	Inputs          []InputStats   `json:"inputs"`
	Transactions    uint64         `json:"transactions"`
	Summaries       uint64         `json:"summaries"` // committed to the sink
	Pending         int            `json:"pending"`   // refused by the sink, retrying
	Decisions       map[string]int `json:"decisions"` // occupants by decision
	Faults          uint64         `json:"faults"`    // fault events raised
	SignalsDropped  uint64         `json:"signals_dropped"`
	UnknownFrames   uint64         `json:"unknown_frames"` // from cameras not configured
	Waiting         int            `json:"waiting"`        // frames held in slots (≤ cameras)
	Retained        int            `json:"retained"`       // chips and templates held now
	Accepting       bool           `json:"accepting"`      // a vehicle is being captured
	Open            int            `json:"open"`           // transactions capturing or waiting for their decision
	LastTransaction string         `json:"last_transaction,omitempty"`
}

func newStats(cfg Config) Stats {
	s := Stats{State: StateIdle, Trigger: cfg.Trigger, Decisions: map[string]int{}}
	for _, c := range cfg.Cameras {
		s.Cameras = append(s.Cameras, CameraStats{Name: c.Name})
	}
	for _, n := range []string{cfg.ArrivalInput, cfg.DepartureInput, cfg.VideoInput} {
		if !slices.ContainsFunc(s.Inputs, func(i InputStats) bool { return i.Name == n }) {
			s.Inputs = append(s.Inputs, InputStats{Name: n})
		}
	}
	return s
}

// Stats returns a copy of the lane's counters and states.
func (l *Lane) Stats() Stats {
	l.statMu.Lock()
	s := l.stats
	s.Cameras = slices.Clone(s.Cameras)
	s.Inputs = slices.Clone(s.Inputs)
	s.Decisions = maps.Clone(s.Decisions)
	l.statMu.Unlock()
	l.slot.mu.Lock()
	for i := range s.Cameras {
		sl := l.slot.byName[s.Cameras[i].Name]
		s.Cameras[i].Offered, s.Cameras[i].Skipped = sl.offered, sl.skipped
		s.Cameras[i].Idle += sl.idle
		s.Cameras[i].DriverGaps, s.Cameras[i].LastFrame = sl.driverGaps, sl.lastAt
		if sl.f != nil {
			s.Waiting++
		}
	}
	s.UnknownFrames = l.slot.unknown
	s.Accepting = l.slot.accepting
	l.slot.mu.Unlock()
	l.sigMu.Lock()
	s.SignalsDropped = l.sigDrop
	l.sigMu.Unlock()
	return s
}

func (l *Lane) setState(st State) {
	l.statMu.Lock()
	l.stats.State = st
	l.statMu.Unlock()
}

func (l *Lane) countCam(name string, f func(*CameraStats)) {
	l.statMu.Lock()
	defer l.statMu.Unlock()
	for i := range l.stats.Cameras {
		if l.stats.Cameras[i].Name == name {
			f(&l.stats.Cameras[i])
		}
	}
}

// publishStats copies the state Run owns into the snapshot.
func (l *Lane) publishStats(time.Time) {
	l.statMu.Lock()
	defer l.statMu.Unlock()
	l.stats.Trigger = TriggerLoop
	if l.videoMode() {
		l.stats.Trigger = TriggerVideo
	}
	for i := range l.stats.Cameras {
		l.stats.Cameras[i].Fault = l.cams[l.stats.Cameras[i].Name].fault
	}
	for i := range l.stats.Inputs {
		in := l.inputs[l.stats.Inputs[i].Name]
		l.stats.Inputs[i].Active, l.stats.Inputs[i].Since, l.stats.Inputs[i].Fault = in.active, in.since, in.fault
	}
	l.stats.Pending = len(l.pending)
	l.stats.Open = len(l.deciding)
	if l.cur != nil {
		l.stats.Open++
	}
	if l.trail != nil {
		l.stats.Open++
	}
	l.stats.Retained = l.retained
}
