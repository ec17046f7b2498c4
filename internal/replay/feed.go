package replay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/trigger"
)

// Frames is one camera's recording: camera.Source (a running replay
// Player) satisfies it. Next returns camera.ErrEnded after the last frame.
type Frames interface {
	Name() string
	Next(ctx context.Context, dst *frame.Frame) error
}

// Target is what a Feeder drives: *lane.Lane.
type Target interface {
	Offer(f *frame.Frame) bool
	Signal(s lane.Signal)
	Sync(ctx context.Context) error
}

// Feeder plays recordings into a lane on a fake clock.
type Feeder struct {
	Lane  Target
	Clock *clock.Fake
	// Triggers watch the frames (the video trigger); their transitions
	// reach the lane as signals of the trigger's name.
	Triggers []*trigger.Trigger
	// Tap, if set, sees every frame before the lane (fault injection in
	// tests, display in the demo); returning false drops the frame.
	Tap func(f *frame.Frame) bool
	// Tail is simulated after the last event so the last vehicle's post
	// margin runs out (default 1 s).
	Tail time.Duration
}

// FeedStats says what a Feed delivered.
type FeedStats struct {
	Frames      map[string]int
	Transitions int
	Simulated   time.Duration // from the first to the last instant
	Wall        time.Duration
}

type head struct {
	src Frames
	f   *frame.Frame
}

// Feed plays cams and ts (sorted by time) until both are exhausted or ctx
// ends. Camera errors other than the end of a recording are returned.
func (fd *Feeder) Feed(ctx context.Context, cams []Frames, ts []sensor.Transition) (st FeedStats, err error) {
	st = FeedStats{Frames: map[string]int{}}
	wall := time.Now()
	defer func() { st.Wall = time.Since(wall) }()
	ts = append([]sensor.Transition(nil), ts...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].At.Before(ts[j].At) })
	heads := make([]*head, 0, len(cams))
	next := func(h *head) error {
		f := &frame.Frame{}
		err := h.src.Next(ctx, f)
		switch {
		case errors.Is(err, camera.ErrEnded):
			h.f = nil
			return nil
		case err != nil:
			return fmt.Errorf("replay: camera %s: %w", h.src.Name(), err)
		}
		h.f = f
		return nil
	}
	for _, c := range cams {
		h := &head{src: c}
		if err := next(h); err != nil {
			return st, err
		}
		heads = append(heads, h)
	}
	var first time.Time
	var last time.Time
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		var at time.Time
		for _, h := range heads {
			if h.f != nil && (at.IsZero() || h.f.Time.Before(at)) {
				at = h.f.Time
			}
		}
		if len(ts) > 0 && (at.IsZero() || ts[0].At.Before(at)) {
			at = ts[0].At
		}
		if at.IsZero() {
			break
		}
		if first.IsZero() {
			first = at
		}
		last = at
		fd.advanceTo(at)
		for len(ts) > 0 && !ts[0].At.After(at) {
			fd.Lane.Signal(lane.Signal{Source: ts[0].Input, Kind: lane.Level, Active: ts[0].Active, Time: ts[0].At})
			ts = ts[1:]
			st.Transitions++
		}
		for _, h := range heads {
			for h.f != nil && !h.f.Time.After(at) {
				f := h.f
				if err := next(h); err != nil {
					return st, err
				}
				st.Frames[f.Camera]++
				if fd.Tap != nil && !fd.Tap(f) {
					continue
				}
				for _, tg := range fd.Triggers {
					if tr, ok := tg.Observe(f); ok {
						fd.Lane.Signal(lane.Signal{Source: tr.Input, Kind: lane.Level, Active: tr.Active, Time: tr.At})
						st.Transitions++
					}
				}
				fd.Lane.Offer(f)
			}
		}
		if err := fd.Lane.Sync(ctx); err != nil {
			return st, err
		}
	}
	tail := fd.Tail
	if tail <= 0 {
		tail = time.Second
	}
	if !last.IsZero() {
		fd.advanceTo(last.Add(tail))
		if err := fd.Lane.Sync(ctx); err != nil {
			return st, err
		}
		st.Simulated = last.Sub(first)
	}
	return st, nil
}

func (fd *Feeder) advanceTo(t time.Time) {
	if d := t.Sub(fd.Clock.Now()); d > 0 {
		fd.Clock.Advance(d)
	}
}
