package lane

import (
	"sync"
	"time"

	"github.com/laned/laned/internal/frame"
)

// slots holds the latest frame of each camera until the worker takes it.
// Offering a frame over one not yet taken replaces it: at most one frame per
// camera waits, whatever the frame rate.
type slots struct {
	mu        sync.Mutex
	cams      []*slot
	byName    map[string]*slot
	accepting bool // a transaction is capturing: a replaced frame is skipped
	unknown   uint64
	notify    chan struct{}
	rr        int // round-robin start among equal candidates
}

type slot struct {
	name          string
	f             *frame.Frame
	offered       uint64
	skipped       uint64 // replaced while capturing, never analysed
	idle          uint64 // replaced or discarded while no vehicle was present
	driverGaps    uint64 // frames missing in the sequence (dropped before the lane)
	lastSeq       uint64
	lastAt        time.Time // capture time of the latest offered frame
	occupiedUntil time.Time // the zone had a face recently: priority
}

func newSlots(cams []CameraConfig) *slots {
	s := &slots{byName: map[string]*slot{}, notify: make(chan struct{}, 1)}
	for _, c := range cams {
		sl := &slot{name: c.Name}
		s.cams = append(s.cams, sl)
		s.byName[c.Name] = sl
	}
	return s
}

// offer stores f as its camera's latest frame; it reports false for a
// camera the lane does not know.
func (s *slots) offer(f *frame.Frame) bool {
	s.mu.Lock()
	sl := s.byName[f.Camera]
	if sl == nil {
		s.unknown++
		s.mu.Unlock()
		return false
	}
	sl.offered++
	if sl.lastSeq != 0 && f.Seq > sl.lastSeq+1 {
		sl.driverGaps += f.Seq - sl.lastSeq - 1
	}
	if f.Seq > sl.lastSeq {
		sl.lastSeq = f.Seq
	}
	if f.Time.After(sl.lastAt) {
		sl.lastAt = f.Time
	}
	if sl.f != nil {
		if s.accepting {
			sl.skipped++
		} else {
			sl.idle++
		}
	}
	sl.f = f
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

// take returns the next frame to analyse, or nil: cameras whose zone is
// occupied at now first, then the oldest frame; ties round-robin.
func (s *slots) take(now time.Time) *frame.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *slot
	bestOcc := false
	n := len(s.cams)
	for i := range n {
		sl := s.cams[(s.rr+i)%n]
		if sl.f == nil {
			continue
		}
		occ := now.Before(sl.occupiedUntil)
		if best == nil || (occ && !bestOcc) || (occ == bestOcc && sl.f.Time.Before(best.f.Time)) {
			best, bestOcc = sl, occ
		}
	}
	if best == nil {
		return nil
	}
	s.rr++
	f := best.f
	best.f = nil
	return f
}

// setAccepting switches skip accounting; leaving capture discards the
// waiting frames (counted idle) so nothing stale is analysed later.
func (s *slots) setAccepting(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepting = on
}

// discardBefore drops waiting frames captured before t (counted idle).
func (s *slots) discardBefore(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.cams {
		if sl.f != nil && sl.f.Time.Before(t) {
			sl.f = nil
			sl.idle++
		}
	}
}

func (s *slots) occupied(cam string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.byName[cam]; sl != nil && until.After(sl.occupiedUntil) {
		sl.occupiedUntil = until
	}
}

// lastFrame is the capture time of cam's latest offered frame.
func (s *slots) lastFrame(cam string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.byName[cam]; sl != nil {
		return sl.lastAt
	}
	return time.Time{}
}

// clear drops every waiting frame.
func (s *slots) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.cams {
		sl.f = nil
	}
}
