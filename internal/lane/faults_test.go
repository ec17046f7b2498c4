package lane_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision"
)

// rig is a lane with fakes, driven step by step by a test in a bubble.
type rig struct {
	t      *testing.T
	l      *lane.Lane
	an     *lanetest.Analyzer
	sink   *lanetest.Sink
	events *lanetest.Events
	gal    *lanetest.Gallery
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seq    map[string]uint64
	cams   []string
}

func newRig(t *testing.T, cfg lane.Config, an *lanetest.Analyzer, snap lane.Snapshot) *rig {
	if cfg.Cameras == nil {
		cfg.Cameras = []lane.CameraConfig{{Name: "front"}}
	}
	r := &rig{t: t, an: an, sink: &lanetest.Sink{}, events: &lanetest.Events{}, gal: lanetest.NewGallery(snap), seq: map[string]uint64{}}
	for _, c := range cfg.Cameras {
		r.cams = append(r.cams, c.Name)
	}
	l, err := lane.New(cfg, lane.Deps{Site: "north", Lane: "L2", Analyzer: an, Gallery: r.gal, Sink: r.sink, Events: r.events})
	if err != nil {
		t.Fatal(err)
	}
	r.l = l
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() {
		if err := l.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func (r *rig) signal(in string, on bool) {
	r.l.Signal(lane.Signal{Source: in, Kind: lane.Level, Active: on, Time: time.Now()})
}

// frames offers n frames per camera at the given interval.
func (r *rig) frames(n int, every time.Duration) {
	for range n {
		for _, c := range r.cams {
			r.seq[c]++
			r.l.Offer(&frame.Frame{Camera: c, Seq: r.seq[c], Time: time.Now(), Width: fw, Height: fh})
		}
		time.Sleep(every)
	}
}

func (r *rig) stop() {
	r.cancel()
	r.wg.Wait()
	r.l.Close()
}

// oneFace scripts a single face of id moving slowly across the frame.
func oneFace(id string, q float64) lanetest.Script {
	return func(f *frame.Frame) []lanetest.FakeFace {
		x := float32(100 + f.Seq%100)
		return []lanetest.FakeFace{{Identity: id, Box: vision.Box{X0: x, Y0: 100, X1: x + 60, Y1: 160},
			Quality: vision.Quality{Score: q, Verdict: vision.VerdictOK}}}
	}
}

func TestGallerySwapMidPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := lanetest.NewSnapshot("g-old", "S-001")
		r := newRig(t, lane.Config{}, &lanetest.Analyzer{Script: oneFace("S-001", 0.8), Cost: 20 * time.Millisecond}, old)
		r.signal("arrival", true)
		r.frames(10, 66*time.Millisecond)
		neu := lanetest.NewSnapshot("g-new", "S-001")
		r.gal.Swap(neu)
		r.frames(10, 66*time.Millisecond)
		r.signal("arrival", false)
		r.signal("departure", true)
		r.frames(5, 66*time.Millisecond)
		r.signal("departure", false)
		r.frames(10, 66*time.Millisecond)
		r.stop()
		got := r.sink.Summaries()
		if len(got) != 1 {
			t.Fatalf("%d summaries", len(got))
		}
		if got[0].GalleryVersion != "g-old" {
			t.Errorf("gallery_version %q, want the snapshot pinned at arrival g-old", got[0].GalleryVersion)
		}
		if old.Searches() == 0 || neu.Searches() != 0 {
			t.Errorf("searches: %d on the pinned snapshot, %d on the new one (want >0, 0)", old.Searches(), neu.Searches())
		}
	})
}

// TestFloodBounded: two cameras flooding frames far faster than analysis:
// at most one frame per camera waits, every frame is accounted for.
func TestFloodBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}, {Name: "side"}}}
		r := newRig(t, cfg, &lanetest.Analyzer{Script: oneFace("S-001", 0.8), Cost: 50 * time.Millisecond}, lanetest.NewSnapshot("g", "S-001"))
		r.signal("arrival", true)
		maxWaiting := 0
		for range 2000 { // 2000 frames per camera at 1 kHz
			r.frames(1, time.Millisecond)
			maxWaiting = max(maxWaiting, r.l.Stats().Waiting)
		}
		r.signal("arrival", false)
		r.signal("departure", true)
		r.signal("departure", false)
		time.Sleep(2 * time.Second)
		r.stop()
		st := r.l.Stats()
		if maxWaiting > 2 {
			t.Errorf("%d frames waiting at once, want ≤ 1 per camera", maxWaiting)
		}
		var skipped uint64
		for _, c := range st.Cameras {
			if c.Offered != 2000 {
				t.Errorf("%s: offered %d", c.Name, c.Offered)
			}
			// every frame: analysed, skipped, idle, or still waiting at the end (dropped at shutdown)
			acc := c.Analysed + c.Skipped + c.Idle + c.Errors
			if acc > c.Offered || c.Offered-acc > 1 {
				t.Errorf("%s: offered %d, analysed %d + skipped %d + idle %d + errors %d", c.Name, c.Offered, c.Analysed, c.Skipped, c.Idle, c.Errors)
			}
			skipped += c.Skipped
		}
		if skipped < 3000 {
			t.Errorf("only %d frames skipped of 4000 offered at 20× the analysis rate", skipped)
		}
		if len(r.sink.Summaries()) != 1 {
			t.Errorf("%d summaries, want 1", len(r.sink.Summaries()))
		}
		t.Logf("skipped %d of 4000, max waiting %d", skipped, maxWaiting)
	})
}

// TestPriorityToOccupiedZone: the camera whose zone had faces is served
// before one that sees nothing.
func TestPriorityToOccupiedZone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}, {Name: "side"}}}
		script := func(f *frame.Frame) []lanetest.FakeFace {
			if f.Camera != "side" {
				return nil
			}
			return oneFace("S-001", 0.8)(f)
		}
		r := newRig(t, cfg, &lanetest.Analyzer{Script: script, Cost: 100 * time.Millisecond}, lanetest.NewSnapshot("g", "S-001"))
		r.signal("arrival", true)
		r.frames(60, 33*time.Millisecond) // 30 fps on both, analysis at 10 fps
		r.stop()
		var front, side uint64
		for _, c := range r.l.Stats().Cameras {
			if c.Name == "front" {
				front = c.Analysed
			} else {
				side = c.Analysed
			}
		}
		if side <= 2*front {
			t.Errorf("analysed: side (occupied) %d, front (empty) %d: want the occupied camera served first", side, front)
		}
	})
}

func TestCorruptFramesSkippedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		an := &lanetest.Analyzer{Script: oneFace("S-001", 0.8), Cost: 10 * time.Millisecond,
			Fail: func(f *frame.Frame) bool { return f.Seq%100 == 7 || f.Seq%100 == 8 }}
		r := newRig(t, lane.Config{}, an, lanetest.NewSnapshot("g", "S-001"))
		r.signal("arrival", true)
		r.frames(300, 66*time.Millisecond)
		r.signal("arrival", false)
		r.signal("departure", true)
		r.signal("departure", false)
		time.Sleep(time.Second)
		r.stop()
		st := r.l.Stats()
		if st.Cameras[0].Errors != 6 {
			t.Errorf("%d analysis errors counted, want 6", st.Cameras[0].Errors)
		}
		got := r.sink.Summaries()
		if len(got) != 1 || len(got[0].Occupants) != 1 || got[0].Occupants[0].Decision != summary.Match {
			t.Fatalf("summaries %v", got)
		}
	})
}

// TestSensorReportedLoopFault: a loop fault reported by the sensor layer
// switches presence to the video trigger until it recovers.
func TestSensorReportedLoopFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lane.Config{}, &lanetest.Analyzer{Script: oneFace("S-001", 0.8)}, lanetest.NewSnapshot("g", "S-001"))
		r.l.Signal(lane.Signal{Source: "arrival", Kind: lane.Faulted, Code: "chatter", Time: time.Now()})
		r.frames(5, 66*time.Millisecond)
		r.signal("arrival", true) // ignored: faulted
		r.signal("video", true)
		r.frames(20, 66*time.Millisecond)
		r.signal("video", false)
		r.frames(10, 66*time.Millisecond)
		if st := r.l.Stats(); st.Trigger != lane.TriggerVideo {
			t.Errorf("trigger in use %q, want video", st.Trigger)
		}
		r.l.Signal(lane.Signal{Source: "arrival", Kind: lane.Recovered, Time: time.Now()})
		r.signal("arrival", false)
		r.frames(5, 66*time.Millisecond)
		r.signal("video", true) // ignored again: the loop is back
		r.frames(20, 66*time.Millisecond)
		r.signal("video", false)
		r.frames(10, 66*time.Millisecond)
		st := r.l.Stats()
		r.stop()
		got := r.sink.Summaries()
		if len(got) != 1 || got[0].Trigger != "video" {
			t.Fatalf("%d summaries (want 1 by video)", len(got))
		}
		if !r.events.Has("arrival", "loop.chatter") {
			t.Errorf("no loop.chatter event: %v", r.events.Faults())
		}
		if st.Trigger != lane.TriggerLoop {
			t.Errorf("trigger after recovery %q, want loop", st.Trigger)
		}
	})
}

// TestOutboxRefusalRetried: a summary the sink refuses (disk full) is
// retried, never lost, and a fault is raised.
func TestOutboxRefusalRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lane.Config{}, &lanetest.Analyzer{Script: oneFace("S-001", 0.8)}, lanetest.NewSnapshot("g", "S-001"))
		r.sink.Fail.Store(true)
		r.signal("arrival", true)
		r.frames(20, 66*time.Millisecond)
		r.signal("arrival", false)
		r.signal("departure", true)
		r.signal("departure", false)
		r.frames(30, 66*time.Millisecond)
		if n := len(r.sink.Summaries()); n != 0 {
			t.Fatalf("%d summaries through a failing sink", n)
		}
		if st := r.l.Stats(); st.Pending != 1 {
			t.Errorf("pending %d, want 1", st.Pending)
		}
		r.sink.Fail.Store(false)
		r.frames(30, 66*time.Millisecond)
		r.stop()
		if n := len(r.sink.Summaries()); n != 1 {
			t.Fatalf("%d summaries after the sink recovered, want 1", n)
		}
		if !r.events.Has("lane", "outbox.enqueue") {
			t.Error("no outbox.enqueue fault")
		}
	})
}

// TestCandidateNeverIdentity: a look-alike between the thresholds is a
// candidate with its score and top candidates, never a subject_id.
func TestCandidateNeverIdentity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Enrol "S-001" with a template 0.91 similar to the traveller's.
		trav := lanetest.IdentityVector("T-1")
		other := lanetest.IdentityVector("S-001")
		enrolled := make([]float32, len(trav))
		a := 0.91
		// orthogonalise other against trav, then mix: cos = a
		var d float64
		for i := range trav {
			d += float64(trav[i]) * float64(other[i])
		}
		var n float64
		for i := range other {
			other[i] -= float32(d) * trav[i]
			n += float64(other[i]) * float64(other[i])
		}
		b := (1 - a*a)
		for i := range enrolled {
			enrolled[i] = float32(a)*trav[i] + float32(sqrt(b/n))*other[i]
		}
		snap := &fixedSnapshot{Snapshot: lanetest.NewSnapshot("g"), vec: enrolled, id: "S-001"}
		r := newRig(t, lane.Config{}, &lanetest.Analyzer{Script: oneFace("T-1", 0.9), Noise: 0.002}, snap)
		r.signal("arrival", true)
		r.frames(20, 66*time.Millisecond)
		r.signal("arrival", false)
		r.signal("departure", true)
		r.signal("departure", false)
		r.frames(10, 66*time.Millisecond)
		r.stop()
		got := r.sink.Summaries()
		if len(got) != 1 || len(got[0].Occupants) != 1 {
			t.Fatalf("summaries %v", got)
		}
		o := got[0].Occupants[0]
		if o.Decision != summary.Candidate || o.SubjectID != "" || o.Score == nil || len(o.Candidates) == 0 || o.Candidates[0].SubjectID != "S-001" {
			t.Fatalf("occupant %+v, want a candidate with score and candidates, no subject", o)
		}
		if *o.Score < 0.90 || *o.Score >= 0.928 {
			t.Errorf("score %v outside the candidate band", *o.Score)
		}
	})
}

func sqrt(v float64) float64 {
	x := v
	for range 50 {
		x = (x + v/x) / 2
	}
	return x
}

// fixedSnapshot enrols one subject with a given vector.
type fixedSnapshot struct {
	*lanetest.Snapshot
	vec []float32
	id  string
}

func (f *fixedSnapshot) Search(p []float32, k int) ([]match.Result, error) {
	var d, n float64
	for i := range p {
		d += float64(p[i]) * float64(f.vec[i])
		n += float64(p[i]) * float64(p[i])
	}
	return []match.Result{{Subject: f.id, Score: float32(d / sqrt(n))}}, nil
}

func (f *fixedSnapshot) Subjects() int { return 1 }

func TestLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lane.Config{}, &lanetest.Analyzer{}, lanetest.NewSnapshot("g"))
		synctest.Wait() // Run has started
		if err := r.l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("second Run: %v", err)
		}
		r.l.Close() // Close stops Run like a cancellation
		r.wg.Wait()
		if err := r.l.Close(); err != nil {
			t.Error(err)
		}
	})
	_, err := lane.New(lane.Config{}, lane.Deps{Site: "s", Lane: "l"})
	if err == nil || !strings.Contains(err.Error(), "lane.cameras") {
		t.Errorf("New without cameras: %v", err)
	}
	_, err = lane.New(lane.Config{Cameras: []lane.CameraConfig{{Name: "c"}}}, lane.Deps{Site: "s", Lane: "bad lane"})
	for _, w := range []string{"no analyzer", "no gallery", "no sink", `lane "bad lane"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New without deps: %v, want %q", err, w)
		}
	}
	_, err = lane.New(lane.Config{Cameras: []lane.CameraConfig{{Name: "c"}}, Evidence: true},
		lane.Deps{Site: "s", Lane: "l", Analyzer: &lanetest.Analyzer{}, Gallery: lanetest.NewGallery(lanetest.NewSnapshot("g")), Sink: &lanetest.Sink{}})
	if err == nil || !strings.Contains(err.Error(), "evidence") {
		t.Errorf("evidence on without a store: %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Error("unexpected")
	}
}

// TestCameraFaultSignal: a camera fault reported by the camera layer (an
// unplug) lands in the open vehicle's summary, an occupant seen only by
// that camera without a usable shot gets reason camera_fault, and recovery
// is raised too. (One of the side camera's two dark faces is the person the
// front camera matched: only the second is another occupant.)
func TestCameraFaultSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}, {Name: "side"}}}
		script := func(f *frame.Frame) []lanetest.FakeFace {
			if f.Camera == "side" { // the side camera sees two dark faces at once: two people
				dark := vision.Quality{Score: 0.2, Verdict: vision.VerdictTooDark}
				return []lanetest.FakeFace{{Identity: "S-002", Box: vision.Box{X0: 50, Y0: 50, X1: 110, Y1: 110}, Quality: dark},
					{Identity: "S-001", Box: vision.Box{X0: 300, Y0: 50, X1: 360, Y1: 110}, Quality: dark}}
			}
			return oneFace("S-001", 0.8)(f)
		}
		r := newRig(t, cfg, &lanetest.Analyzer{Script: script}, lanetest.NewSnapshot("g", "S-001", "S-002"))
		r.signal("arrival", true)
		r.frames(10, 66*time.Millisecond)
		r.l.Signal(lane.Signal{Source: "side", Kind: lane.Faulted, Code: "unplugged", Time: time.Now()})
		r.frames(10, 66*time.Millisecond)
		r.l.Signal(lane.Signal{Source: "side", Kind: lane.Recovered, Time: time.Now()})
		r.signal("arrival", false)
		r.signal("departure", true)
		r.signal("departure", false)
		r.frames(10, 66*time.Millisecond)
		r.stop()
		got := r.sink.Summaries()
		if len(got) != 1 {
			t.Fatalf("%d summaries", len(got))
		}
		s := got[0]
		if !slices.Contains(s.Faults, summary.Fault{Source: "side", Code: "camera.unplugged"}) {
			t.Errorf("faults %v", s.Faults)
		}
		var reasons []summary.Reason
		for _, o := range s.Occupants {
			reasons = append(reasons, o.Reason)
		}
		if len(s.Occupants) != 2 || s.Occupants[0].SubjectID != "S-001" || !slices.Contains(reasons, summary.ReasonCameraFault) {
			t.Errorf("occupants %s", occupants(s))
		}
		if !r.events.Has("side", "camera.unplugged") {
			t.Error("no camera.unplugged event")
		}
		recovered := false
		for _, f := range r.events.Faults() {
			recovered = recovered || (f.Source == "side" && f.Code == "camera.recovered")
		}
		if !recovered {
			t.Error("no camera.recovered event")
		}
	})
}
