package lane

import (
	"context"
	"fmt"
	"time"

	"github.com/laned/laned/internal/summary"
)

func (l *Lane) drainSignals(ctx context.Context) {
	l.sigMu.Lock()
	sigs := l.sigs
	l.sigs = nil
	l.sigMu.Unlock()
	for _, s := range sigs {
		l.handle(ctx, s)
	}
}

// videoMode reports whether presence must come from the video trigger.
func (l *Lane) videoMode() bool {
	if l.cfg.Trigger == TriggerVideo {
		return true
	}
	return l.inputs[l.cfg.ArrivalInput].fault != "" || l.inputs[l.cfg.DepartureInput].fault != ""
}

func (l *Lane) handle(ctx context.Context, s Signal) {
	if cs := l.cams[s.Source]; cs != nil {
		switch s.Kind {
		case Faulted:
			l.cameraFault(ctx, s.Source, "camera."+orDefault(s.Code, "lost"), s.Time)
		case Recovered:
			l.cameraRecovered(ctx, s.Source, s.Time)
		}
		return
	}
	in := l.inputs[s.Source]
	if in == nil {
		l.log.Debug("signal from an unknown input", "input", s.Source)
		return
	}
	isLoop := s.Source != l.cfg.VideoInput
	switch s.Kind {
	case Faulted:
		code := orDefault(s.Code, "fault")
		l.inputFault(ctx, s.Source, code, s.Time, false)
		return
	case Recovered:
		if in.fault != "" {
			in.fault, in.stuck = "", false
			l.raise(ctx, Fault{Source: s.Source, Code: faultPrefix(isLoop) + "recovered", At: s.Time, Severity: "info",
				Message: s.Source + " recovered"})
		}
		return
	}
	if in.active == s.Active {
		return
	}
	in.active, in.since = s.Active, s.Time
	if isLoop && !s.Active && in.stuck {
		// A loop the lane itself found stuck on released: it works again.
		in.fault, in.stuck = "", false
		l.raise(ctx, Fault{Source: s.Source, Code: "loop.recovered", At: s.Time, Severity: "info", Message: s.Source + " released"})
	}
	if isLoop == l.videoMode() && (l.cur == nil || s.Source != l.cur.endSource) {
		return // not the trigger in use
	}
	if isLoop && in.fault != "" {
		return
	}
	arrival := s.Source == l.cfg.ArrivalInput || !isLoop
	switch {
	case s.Active && arrival:
		if c := l.cur; c != nil {
			if !c.captureEnd.IsZero() {
				// Departed, in its post margin: the margin ends here.
				l.closeCapture(minTime(s.Time, c.captureEnd), c.end)
			} else {
				// The next vehicle arrived before this one's departure:
				// new faces are the new vehicle's, the tracks already open
				// stay this one's until it leaves.
				if l.trail != nil {
					l.finishTrail(s.Time)
				}
				c.end = summary.EndNextVehicle
				l.trail, l.cur = c, nil
			}
		}
		trig, end := summary.TriggerLoop, l.cfg.DepartureInput
		if !isLoop {
			trig, end = summary.TriggerVideo, l.cfg.VideoInput
		}
		l.open(ctx, s.Time, trig, end)
	case !s.Active && l.trail != nil && s.Source == l.trail.endSource && l.trail.captureEnd.IsZero():
		l.trail.captureEnd = s.Time.Add(l.cfg.PostMargin) // the earlier vehicle left first
	case s.Active && l.cur != nil && s.Source == l.cur.endSource:
		l.cur.endRisen = true // this vehicle reached the departure loop
	case !s.Active && l.cur != nil && s.Source == l.cur.endSource && l.cur.endRisen && l.cur.captureEnd.IsZero():
		l.cur.captureEnd = s.Time.Add(l.cfg.PostMargin)
		l.cur.end = summary.EndDeparture
		l.setState(StatePost)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func faultPrefix(loop bool) string {
	if loop {
		return "loop."
	}
	return "video."
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// inputFault latches a fault of a loop input; while any loop is faulted
// the lane takes presence from the video trigger.
func (l *Lane) inputFault(ctx context.Context, name, code string, at time.Time, stuck bool) {
	in := l.inputs[name]
	if in.fault != "" {
		return
	}
	wasVideo := l.videoMode()
	in.fault, in.faultAt, in.stuck = code, at, stuck
	isLoop := name != l.cfg.VideoInput
	msg := fmt.Sprintf("input %s: %s", name, code)
	if isLoop && !wasVideo {
		msg += "; presence now from the video trigger"
	}
	l.raise(ctx, Fault{Source: name, Code: faultPrefix(isLoop) + code, Active: true, At: at, Severity: "error", Message: msg})
	if isLoop && l.cur != nil && l.cur.trigger == summary.TriggerLoop {
		// Hand the open vehicle over to the video trigger.
		l.cur.endSource = l.cfg.VideoInput
		l.cur.endRisen = l.inputs[l.cfg.VideoInput].active
		if !l.cur.endRisen && l.cur.captureEnd.IsZero() {
			l.cur.captureEnd = at.Add(l.cfg.PostMargin)
			l.cur.end = summary.EndDeparture
		}
	}
}

func (l *Lane) cameraFault(ctx context.Context, cam, code string, at time.Time) {
	cs := l.cams[cam]
	if cs.fault != "" {
		return
	}
	cs.fault, cs.faultAt = code, at
	l.raise(ctx, Fault{Source: cam, Code: code, Active: true, At: at, Severity: "error",
		Message: fmt.Sprintf("camera %s: %s", cam, code)})
}

func (l *Lane) cameraRecovered(ctx context.Context, cam string, at time.Time) {
	cs := l.cams[cam]
	if cs.fault == "" {
		return
	}
	cs.fault = ""
	l.raise(ctx, Fault{Source: cam, Code: "camera.recovered", At: at, Severity: "info", Message: "camera " + cam + " delivers frames again"})
}

// raise sends a fault event and records an active one in the open
// transaction.
func (l *Lane) raise(ctx context.Context, f Fault) {
	l.d.Events.Fault(ctx, f)
	if f.Active && l.cur != nil {
		l.cur.addFault(f.Source, f.Code)
	}
	if f.Active && l.trail != nil {
		l.trail.addFault(f.Source, f.Code)
	}
	l.statMu.Lock()
	l.stats.Faults++
	l.statMu.Unlock()
}

func (t *txn) addFault(src, code string) {
	if len(t.faults) >= 16 {
		return
	}
	for _, f := range t.faults {
		if f.Source == src && f.Code == code {
			return
		}
	}
	t.faults = append(t.faults, summary.Fault{Source: src, Code: code})
	if len(code) > 7 && code[:7] == "camera." {
		t.camFault[src] = true
	}
}
