package lane_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/vision"
)

const (
	fw, fh = 640, 360
	fps    = 15
)

// vehicle is one scripted pass: the loops see it from Arrive to Depart (the
// arrival loop until Depart-1s, the departure loop from Arrive+1s); its
// occupants' faces cross the frame between Arrive and Depart.
type vehicle struct {
	Arrive, Depart time.Duration
	Occupants      []string
	Quality        float64        // default 0.8
	Verdict        vision.Verdict // default ok
	Cams           []string       // cameras that see the faces (default all)
	EdgeOnly       bool           // faces always touch the frame's top edge
}

type scene struct {
	t        *testing.T
	cfg      lane.Config
	vehicles []vehicle
	end      time.Duration
	loops    bool // drive the arrival/departure loops
	video    bool // drive the video trigger
	// stuckArrival keeps the arrival loop active from the first arrival.
	stuckArrival bool
	// stopCam stops a camera's frames at a time.
	stopCam   string
	stopAt    time.Duration
	cancelAt  time.Duration // cancel the lane's ctx then (0: never)
	swapAt    time.Duration // swap the gallery then (0: never)
	swapTo    lane.Snapshot
	frameRate time.Duration // default 1/fps
	cost      time.Duration // analysis cost per frame, default 30ms
	enrolled  []string
	fusion    string
	extra     func(f *frame.Frame) []lanetest.FakeFace

	an     *lanetest.Analyzer
	sink   *lanetest.Sink
	events *lanetest.Events
	gal    *lanetest.Gallery
	snap   *lanetest.Snapshot
	lane   *lane.Lane
	maxW   int // most frames waiting in slots at once
}

func (s *scene) faces(f *frame.Frame) []lanetest.FakeFace {
	var out []lanetest.FakeFace
	rel := f.Time.Sub(t0)
	for _, v := range s.vehicles {
		if rel < v.Arrive || rel >= v.Depart {
			continue
		}
		if len(v.Cams) > 0 && !contains(v.Cams, f.Camera) {
			continue
		}
		p := float64(rel-v.Arrive) / float64(v.Depart-v.Arrive) // 0..1 across the frame
		q := v.Quality
		if q == 0 {
			q = 0.8
		}
		verdict := v.Verdict
		if verdict == "" {
			verdict = vision.VerdictOK
		}
		for i, id := range v.Occupants {
			x := float32(40 + p*float64(fw-200) + float64(i%2)*70)
			y := float32(60 + (i/2)*120)
			if v.EdgeOnly {
				y = 0
			}
			out = append(out, lanetest.FakeFace{Identity: id, Box: vision.Box{X0: x, Y0: y, X1: x + 60, Y1: y + 60},
				Quality: vision.Quality{Score: q - 0.1*abs(p-0.5), Verdict: verdict}})
		}
	}
	if s.extra != nil {
		out = append(out, s.extra(f)...)
	}
	return out
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// t0 is the synctest bubble's start.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type timed struct {
	at time.Duration
	s  lane.Signal
}

func (s *scene) signals() []timed {
	var out []timed
	add := func(at time.Duration, in string, on bool) {
		out = append(out, timed{at, lane.Signal{Source: in, Kind: lane.Level, Active: on, Time: t0.Add(at)}})
	}
	for i, v := range s.vehicles {
		if s.loops {
			if !(s.stuckArrival && i > 0) {
				add(v.Arrive, s.cfg.ArrivalInput, true)
			}
			if !s.stuckArrival {
				add(v.Depart-time.Second, s.cfg.ArrivalInput, false)
			}
			add(v.Arrive+time.Second, s.cfg.DepartureInput, true)
			add(v.Depart, s.cfg.DepartureInput, false)
		}
		if s.video {
			add(v.Arrive, s.cfg.VideoInput, true)
			add(v.Depart, s.cfg.VideoInput, false)
		}
	}
	// stable order by time
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].at < out[j-1].at; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// run plays the scene in the current synctest bubble and returns after the
// lane stopped.
func (s *scene) run() {
	t := s.t
	if s.cfg.Cameras == nil {
		s.cfg.Cameras = []lane.CameraConfig{{Name: "front"}, {Name: "side"}}
	}
	s.cfg = s.cfg.WithDefaults()
	if s.fusion != "" {
		s.cfg.Fusion = s.fusion
	}
	if s.cost == 0 {
		s.cost = 30 * time.Millisecond
	}
	if s.frameRate == 0 {
		s.frameRate = time.Second / fps
	}
	s.an = &lanetest.Analyzer{Script: s.faces, Cost: s.cost}
	s.sink = &lanetest.Sink{}
	s.events = &lanetest.Events{}
	s.snap = lanetest.NewSnapshot("g1", s.enrolled...)
	s.gal = lanetest.NewGallery(s.snap)
	l, err := lane.New(s.cfg, lane.Deps{Site: "north", Lane: "L2", Analyzer: s.an, Gallery: s.gal, Sink: s.sink, Events: s.events})
	if err != nil {
		t.Fatal(err)
	}
	s.lane = l
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = l.Run(ctx) })
	sigs := s.signals()
	var seq = map[string]uint64{}
	for at := time.Duration(0); at < s.end; at += s.frameRate {
		for len(sigs) > 0 && sigs[0].at <= at {
			l.Signal(sigs[0].s)
			sigs = sigs[1:]
		}
		if s.swapAt > 0 && at >= s.swapAt && s.swapTo != nil {
			s.gal.Swap(s.swapTo)
			s.swapTo = nil
		}
		if s.cancelAt > 0 && at >= s.cancelAt {
			break
		}
		for _, c := range s.cfg.Cameras {
			if c.Name == s.stopCam && at >= s.stopAt {
				continue
			}
			seq[c.Name]++
			l.Offer(&frame.Frame{Camera: c.Name, Seq: seq[c.Name], Time: time.Now(), Width: fw, Height: fh})
		}
		if w := l.Stats().Waiting; w > s.maxW {
			s.maxW = w
		}
		time.Sleep(s.frameRate)
	}
	// Let the last margins run out, then stop.
	if s.cancelAt == 0 {
		time.Sleep(s.cfg.PostMargin + time.Second)
	}
	cancel()
	wg.Wait()
	if runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
