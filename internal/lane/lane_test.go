package lane_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision"
)

var residents = []string{"S-001", "S-002", "S-003", "S-004", "S-005", "S-006"}

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// want is what one emitted summary must say.
type want struct {
	decisions []summary.Decision // per occupant, in order
	subjects  []string           // per occupant ("" where none)
	end       summary.End
	trigger   string
	faults    []string // "source/code" that must be in faults
	reasons   []summary.Reason
}

func TestStateMachine(t *testing.T) {
	M, N, U := summary.Match, summary.NoMatch, summary.NoUsableImage
	cases := []struct {
		name   string
		scene  scene
		want   []want
		faults []string // "source/code" events that must have been raised
		check  func(t *testing.T, s *scene)
	}{
		{name: "one vehicle two residents", scene: scene{loops: true, end: sec(6), enrolled: residents,
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001", "S-002"}}}},
			want: []want{{decisions: []summary.Decision{M, M}, subjects: []string{"S-001", "S-002"}, end: summary.EndDeparture, trigger: "loop"}}},
		{name: "four occupants vote fusion", scene: scene{loops: true, end: sec(6), enrolled: residents, fusion: lane.FusionVote,
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001", "S-002", "S-003", "S-004"}}}},
			want: []want{{decisions: []summary.Decision{M, M, M, M}, subjects: []string{"S-001", "S-002", "S-003", "S-004"}, end: summary.EndDeparture}}},
		{name: "empty lane stretch", scene: scene{loops: true, video: true, end: sec(30), enrolled: residents},
			want: nil,
			check: func(t *testing.T, s *scene) {
				if a, _, _ := s.an.Counts(); a != 0 {
					t.Errorf("%d frames analysed with no vehicle present", a)
				}
			}},
		{name: "strangers never match", scene: scene{loops: true, end: sec(6), enrolled: residents,
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"X-901", "X-902", "X-903"}}}},
			want: []want{{decisions: []summary.Decision{N, N, N}, subjects: []string{"", "", ""}}}},
		{name: "two vehicles close together", scene: scene{loops: true, end: sec(10), enrolled: residents,
			vehicles: []vehicle{
				{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001"}},
				{Arrive: sec(3.5), Depart: sec(7), Occupants: []string{"S-002", "S-003"}},
			}},
			want: []want{
				{decisions: []summary.Decision{M}, subjects: []string{"S-001"}, end: summary.EndNextVehicle},
				{decisions: []summary.Decision{M, M}, subjects: []string{"S-002", "S-003"}, end: summary.EndDeparture},
			}},
		{name: "vehicles back to back", scene: scene{loops: true, end: sec(40), enrolled: residents,
			vehicles: []vehicle{
				{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001"}},
				{Arrive: sec(6), Depart: sec(9), Occupants: []string{"X-901"}},
				{Arrive: sec(20), Depart: sec(22), Occupants: []string{"S-004", "S-005"}},
			}},
			want: []want{
				{decisions: []summary.Decision{M}, subjects: []string{"S-001"}},
				{decisions: []summary.Decision{N}, subjects: []string{""}},
				{decisions: []summary.Decision{M, M}, subjects: []string{"S-004", "S-005"}},
			}},
		{name: "blurred only", scene: scene{loops: true, end: sec(6), enrolled: residents,
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001"}, Quality: 0.3, Verdict: vision.VerdictBlurred}}},
			want: []want{{decisions: []summary.Decision{U}, reasons: []summary.Reason{summary.ReasonBlurred}}}},
		{name: "faces cut by the frame edge are no best shot", scene: scene{loops: true, end: sec(6), enrolled: residents,
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001"}, EdgeOnly: true}}},
			want: []want{{decisions: []summary.Decision{U}, reasons: []summary.Reason{summary.ReasonOccluded}}}},
		{name: "loop stuck on: video fallback", scene: scene{loops: true, video: true, stuckArrival: true, end: sec(40), enrolled: residents,
			cfg: lane.Config{MaxPresence: sec(10), MaxCapture: sec(8)},
			vehicles: []vehicle{
				{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001"}},
				{Arrive: sec(20), Depart: sec(23), Occupants: []string{"S-002"}},
				{Arrive: sec(30), Depart: sec(33), Occupants: []string{"S-003"}},
			}},
			// The first vehicle opened on the stuck loop closes at its
			// departure loop; the next ones come from the video trigger.
			want: []want{
				{decisions: []summary.Decision{M}, subjects: []string{"S-001"}, trigger: "loop"},
				{decisions: []summary.Decision{M}, subjects: []string{"S-002"}, trigger: "video", faults: []string{"arrival/loop.stuck_on"}},
				{decisions: []summary.Decision{M}, subjects: []string{"S-003"}, trigger: "video", faults: []string{"arrival/loop.stuck_on"}},
			},
			faults: []string{"arrival/loop.stuck_on"}},
		{name: "camera vanishes mid-pass", scene: scene{loops: true, end: sec(8), enrolled: residents, stopCam: "side", stopAt: sec(2),
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(5), Occupants: []string{"S-001"}}}},
			want:   []want{{decisions: []summary.Decision{M}, subjects: []string{"S-001"}, faults: []string{"side/camera.lost"}}},
			faults: []string{"side/camera.lost"}},
		{name: "shutdown mid-pass", scene: scene{loops: true, end: sec(8), enrolled: residents, cancelAt: sec(2.5),
			vehicles: []vehicle{
				{Arrive: sec(1), Depart: sec(5), Occupants: []string{"S-001"}},
			}},
			want: []want{{decisions: []summary.Decision{M}, subjects: []string{"S-001"}, end: summary.EndShutdown}}},
		{name: "shutdown mid-pass, nothing usable yet", scene: scene{loops: true, end: sec(8), enrolled: residents, cancelAt: sec(2.5),
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(5), Occupants: []string{"S-001"}, Quality: 0.2, Verdict: vision.VerdictTooDark}}},
			want: []want{{decisions: []summary.Decision{U}, end: summary.EndShutdown, reasons: []summary.Reason{summary.ReasonTimeout}}}},
		{name: "video trigger lane", scene: scene{video: true, end: sec(12), enrolled: residents, cfg: lane.Config{Trigger: lane.TriggerVideo},
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-006"}}, {Arrive: sec(7), Depart: sec(10), Occupants: []string{"S-005"}}}},
			want: []want{{decisions: []summary.Decision{M}, subjects: []string{"S-006"}, trigger: "video"}, {decisions: []summary.Decision{M}, subjects: []string{"S-005"}, trigger: "video"}}},
		{name: "booth officer outside the zone", scene: scene{loops: true, end: sec(6), enrolled: residents,
			cfg: lane.Config{Cameras: []lane.CameraConfig{{Name: "front", Zone: lane.Zone{X0: 0, Y0: 0, X1: 1, Y1: 0.8}}}},
			extra: func(f *frame.Frame) []lanetest.FakeFace {
				return []lanetest.FakeFace{{Identity: "S-006", Box: vision.Box{X0: 300, Y0: 300, X1: 350, Y1: 350}, Quality: vision.Quality{Score: 0.9, Verdict: vision.VerdictOK}}}
			},
			vehicles: []vehicle{{Arrive: sec(1), Depart: sec(4), Occupants: []string{"S-001"}}}},
			want: []want{{decisions: []summary.Decision{M}, subjects: []string{"S-001"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := c.scene
				s.t = t
				s.run()
				got := s.sink.Summaries()
				if testing.Verbose() {
					for _, g := range got {
						t.Logf("summary %s end=%s trigger=%s faults=%v occupants=%s", g.TransactionID, g.End, g.Trigger, g.Faults, occupants(g))
					}
				}
				if len(got) != len(c.want) {
					for _, g := range got {
						t.Logf("summary %s end=%s trigger=%s occupants=%s", g.TransactionID, g.End, g.Trigger, occupants(g))
					}
					t.Fatalf("%d summaries, want %d (one per vehicle)", len(got), len(c.want))
				}
				for i, w := range c.want {
					checkSummary(t, i, got[i], w)
				}
				for _, f := range c.faults {
					src, code, _ := strings.Cut(f, "/")
					if !s.events.Has(src, code) {
						t.Errorf("no fault event %s; got %v", f, s.events.Faults())
					}
				}
				if ch, tm := s.an.Leaked(); ch != 0 || tm != 0 {
					t.Errorf("after the run %d chips and %d templates still hold data", ch, tm)
				}
				if st := s.lane.Stats(); st.Retained != 0 {
					t.Errorf("stats: %d chips/templates retained", st.Retained)
				}
				if _, _, inflight := s.an.Counts(); inflight > 1 {
					t.Errorf("%d analyses in flight at once: one inference worker", inflight)
				}
				for _, raw := range s.sink.Raw() {
					stamped, err := summary.Stamp(raw, "019abc12-3456-7def-8abc-0123456789ab", 1)
					if err != nil {
						t.Fatal(err)
					}
					if err := summary.ValidateJSON(stamped); err != nil {
						t.Errorf("published summary fails the schema: %v\n%s", err, raw)
					}
				}
				if s.maxW > len(s.cfg.Cameras) {
					t.Errorf("%d frames waiting at once for %d cameras", s.maxW, len(s.cfg.Cameras))
				}
				if c.check != nil {
					c.check(t, &s)
				}
			})
		})
	}
}

func occupants(tr *summary.Transaction) string {
	var b strings.Builder
	for _, o := range tr.Occupants {
		sc := ""
		if o.Score != nil {
			sc = fmt.Sprintf("%.3f", *o.Score)
		}
		fmt.Fprintf(&b, "[%s %s %s %s %s]", o.Decision, o.SubjectID, sc, o.Reason, o.Camera)
	}
	return b.String()
}

func checkSummary(t *testing.T, i int, g *summary.Transaction, w want) {
	t.Helper()
	desc := fmt.Sprintf("summary %d (%s, end %s, trigger %s, faults %v): %s", i, g.TransactionID, g.End, g.Trigger, g.Faults, occupants(g))
	if len(g.Occupants) != len(w.decisions) {
		t.Errorf("%s: %d occupants, want %d", desc, len(g.Occupants), len(w.decisions))
		return
	}
	for j, o := range g.Occupants {
		if o.Decision != w.decisions[j] {
			t.Errorf("%s: occupant %d decision %s, want %s", desc, j, o.Decision, w.decisions[j])
		}
		if w.subjects != nil && o.SubjectID != w.subjects[j] {
			t.Errorf("%s: occupant %d subject %q, want %q", desc, j, o.SubjectID, w.subjects[j])
		}
		if w.reasons != nil && o.Reason != w.reasons[j] {
			t.Errorf("%s: occupant %d reason %q, want %q", desc, j, o.Reason, w.reasons[j])
		}
		if o.Attempts == nil || o.Attempts.Faces == 0 {
			t.Errorf("%s: occupant %d without attempt counts", desc, j)
		}
	}
	if w.end != "" && g.End != w.end {
		t.Errorf("%s: end %s, want %s", desc, g.End, w.end)
	}
	if w.trigger != "" && g.Trigger != w.trigger {
		t.Errorf("%s: trigger %s, want %s", desc, g.Trigger, w.trigger)
	}
	for _, f := range w.faults {
		src, code, _ := strings.Cut(f, "/")
		if !slices.Contains(g.Faults, summary.Fault{Source: src, Code: code}) {
			t.Errorf("%s: fault %s missing", desc, f)
		}
	}
	if g.GalleryVersion != "g1" && g.GalleryVersion != "g2" {
		t.Errorf("%s: gallery version %q", desc, g.GalleryVersion)
	}
}
