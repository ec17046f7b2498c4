package lane_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/evidence"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/summary"
)

// TestNothingRetainedAfterEmit: as soon as a vehicle's summary is out,
// every chip and template of it is zeroed and the lane holds none, while
// the lane keeps running.
func TestNothingRetainedAfterEmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		an := &lanetest.Analyzer{Script: oneFace("S-001", 0.8)}
		r := newRig(t, lane.Config{}, an, lanetest.NewSnapshot("g", "S-001"))
		r.signal("arrival", true)
		r.frames(20, 66*time.Millisecond)
		if st := r.l.Stats(); st.Retained == 0 {
			t.Fatal("no chip retained during capture: the test would prove nothing")
		}
		r.signal("arrival", false)
		r.signal("departure", true)
		r.signal("departure", false)
		r.frames(10, 66*time.Millisecond) // past the post margin
		synctest.Wait()
		if n := len(r.sink.Summaries()); n != 1 {
			t.Fatalf("%d summaries", n)
		}
		if ch, tm := an.Leaked(); ch != 0 || tm != 0 {
			t.Errorf("after emit: %d chips and %d templates still hold data", ch, tm)
		}
		if st := r.l.Stats(); st.Retained != 0 {
			t.Errorf("after emit: lane retains %d", st.Retained)
		}
		_, emb, _ := an.Counts()
		if emb == 0 || emb > 5 {
			t.Errorf("%d templates computed for one face: want 1..embed_budget(5)", emb)
		}
		r.stop()
	})
}

// recordingEvidence wraps a real store and counts puts.
type recordingEvidence struct {
	mu sync.Mutex
	s  *evidence.Store
	n  int
}

func (e *recordingEvidence) Put(ctx context.Context, ev lane.Evidence) error {
	e.mu.Lock()
	e.n++
	e.mu.Unlock()
	return e.s.Put(ctx, ev)
}

func TestEvidenceOnlyWhenOn(t *testing.T) {
	for _, on := range []bool{false, true} {
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			st, err := evidence.Open(dir, bytes.Repeat([]byte{1}, 32), 12*time.Hour, nil)
			if err != nil {
				t.Fatal(err)
			}
			ev := &recordingEvidence{s: st}
			an := &lanetest.Analyzer{Script: oneFace("X-stranger", 0.8)}
			sink := &lanetest.Sink{}
			l, err := lane.New(lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}}, Evidence: on}, lane.Deps{
				Site: "s", Lane: "l", Analyzer: an, Gallery: lanetest.NewGallery(lanetest.NewSnapshot("g", "S-001")),
				Sink: sink, Evidence: ev})
			if err != nil {
				t.Fatal(err)
			}
			r := &rig{t: t, l: l, an: an, sink: sink, seq: map[string]uint64{}, cams: []string{"front"}}
			ctx, cancel := context.WithCancel(context.Background())
			r.cancel = cancel
			r.wg.Go(func() { l.Run(ctx) })
			r.signal("arrival", true)
			r.frames(20, 66*time.Millisecond)
			r.signal("arrival", false)
			r.signal("departure", true)
			r.signal("departure", false)
			r.frames(10, 66*time.Millisecond)
			r.stop()
			got := sink.Summaries()
			if len(got) != 1 || got[0].Occupants[0].Decision != summary.NoMatch {
				t.Fatalf("summaries %v", got)
			}
			names, _ := st.List()
			want := 0
			if on {
				want = 1
			}
			if ev.n != want || len(names) != want {
				t.Errorf("evidence %v: %d puts, %d files, want %d", on, ev.n, len(names), want)
			}
			if ch, tm := an.Leaked(); ch != 0 || tm != 0 {
				t.Errorf("lane copies not zeroed: %d chips %d templates", ch, tm)
			}
		})
		if !on {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				t.Errorf("default settings wrote %s", filepath.Join(dir, e.Name()))
			}
		}
	}
}
