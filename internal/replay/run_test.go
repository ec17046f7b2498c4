package replay_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/replay"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/worker"
)

// samplePeople are faces cut from the face-api sample photos (the demo's
// pictures): the first n of sample1 are enrolled (one template each, from
// the original photo), the rest are strangers.
func samplePeople(t testing.TB, p *pipeline.Pipeline, n int) (enrolled, strangers []passgen.Person, ix *match.Index) {
	set, err := models.OpenDefault()
	if err != nil {
		t.Skip(err)
	}
	b := match.NewBuilder(pipeline.Dim, 8)
	for s := 1; s <= 2; s++ {
		path, err := set.Path(fmt.Sprintf("face-api/demo/sample%d.jpg", s))
		if err != nil {
			t.Skip(err)
		}
		fr, err := p.ProcessFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range fr.Faces {
			if f.Embedding == nil {
				continue
			}
			face, err := faceCrop(p, path, i)
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("sample%d-%d", s, i+1)
			if s == 1 && len(enrolled) < n {
				if err := b.Add(id, f.Embedding); err != nil {
					t.Fatal(err)
				}
				enrolled = append(enrolled, passgen.Person{ID: id, Enrolled: true, Face: face})
			} else if len(strangers) < 2 {
				strangers = append(strangers, passgen.Person{ID: id, Face: face})
			}
		}
	}
	if ix, err = b.Build(); err != nil {
		t.Fatal(err)
	}
	return enrolled, strangers, ix
}

// TestReplayRecordingRealInference writes a generated two-vehicle pass as
// a recording (frame folders and sensors.csv), replays it with Run on the
// real worker, and checks one stamped summary per vehicle, in order, with
// the enrolled occupants matched.
func TestReplayRecordingRealInference(t *testing.T) {
	if testing.Short() {
		t.Skip("real inference: not in -short")
	}
	p := openPipeline(t)
	enrolled, strangers, ix := samplePeople(t, p, 3)
	vs := []passgen.Vehicle{
		{Occupants: enrolled[:2], Speed: 3, Gap: time.Second},
		{Occupants: []passgen.Person{enrolled[2], strangers[0]}, Speed: 4, Gap: 2 * time.Second},
	}
	s, err := passgen.Generate(passgen.Config{Cameras: []string{"front"}, Seed: 3}, vs)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rec")
	if err := replay.WriteScenario(s, dir); err != nil {
		t.Fatal(err)
	}
	w, stop, err := worker.Start(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var mu sync.Mutex
	var lines []string
	for _, sensors := range []string{filepath.Join(dir, "sensors.csv"), ""} {
		lines = nil
		res, err := replay.Run(context.Background(), replay.Options{Config: config.Config{}, Frames: []string{filepath.Join(dir, "front")},
			Sensors: sensors, Analyzer: w.Client(worker.PriorityLane), Gallery: replay.FromIndex(ix, "7", pipeline.ModelID),
			Start: s.Start(), Emit: func(b []byte) error {
				mu.Lock()
				lines = append(lines, string(b))
				mu.Unlock()
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sensors %q: %d frames in %s wall; lane %+v", sensors, res.Feed.Frames["cam1"], res.Feed.Wall, res.Lane.Cameras)
		if len(lines) != 2 {
			t.Fatalf("sensors %q: %d summaries, want 2:\n%s", sensors, len(lines), strings.Join(lines, "\n"))
		}
		for i, l := range lines {
			v, err := summary.Unmarshal([]byte(l))
			if err != nil {
				t.Fatalf("summary %d is not a published payload: %v", i, err)
			}
			tx := v.(*summary.Transaction)
			if tx.Sequence != uint64(i+1) || tx.GalleryVersion != "7" || tx.Site != "replay" {
				t.Errorf("summary %d: sequence %d gallery %s site %s", i, tx.Sequence, tx.GalleryVersion, tx.Site)
			}
			matched := map[string]bool{}
			for _, o := range tx.Occupants {
				if o.Decision == summary.Match {
					matched[o.SubjectID] = true
				}
			}
			for _, o := range vs[i].Occupants {
				if o.Enrolled && !matched[o.ID] {
					t.Errorf("sensors %q: vehicle %d: %s not matched: %s", sensors, i, o.ID, l)
				}
				if !o.Enrolled && len(matched) > 1 {
					t.Errorf("vehicle %d: a stranger matched: %s", i, l)
				}
			}
		}
	}
}

// BenchmarkLiveTwoCameras720p15 plays two 1280×720 cameras at 15 fps in
// real time (frames offered on their own schedule, not in lockstep)
// through the real worker and lane: whatever inference cannot keep up
// with is skipped by the latest-frame slots. Reported per pass of four
// vehicles (one per variant): skipped and analysed frames, the analysed
// rate, usable capture and correct matches.
//
//	LANED_MODEL_DIR=… go test ./internal/replay -run '^$' -bench LiveTwoCameras -benchtime 1x
func BenchmarkLiveTwoCameras720p15(b *testing.B) {
	p := openPipeline(b)
	en, st, ix := benchPeople(b, p)
	vs := []passgen.Vehicle{
		{Occupants: en[:2], Variant: passgen.Normal, Speed: 3, Gap: time.Second},
		{Occupants: []passgen.Person{en[2], st[0]}, Variant: passgen.Glare, Speed: 3, Gap: time.Second},
		{Occupants: en[len(en)-1:], Variant: passgen.Blur, Speed: 2, Gap: time.Second},
		{Occupants: en[:2], Variant: passgen.Dark, Speed: 2.5, Gap: time.Second},
	}
	s, err := passgen.Generate(passgen.Config{Cameras: []string{"front", "rear"}, Seed: 13}, vs)
	if err != nil {
		b.Fatal(err)
	}
	w, stop, err := worker.Start(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	var skipped, analysed, frames uint64
	var usable, correct float64
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		rep, err := lanetest.Eval(context.Background(), lanetest.EvalConfig{Scenario: s, Analyzer: w.Client(worker.PriorityLane),
			Gallery: replay.FromIndex(ix, "1", pipeline.ModelID), Render: true})
		if err != nil {
			b.Fatal(err)
		}
		skipped += rep.Skipped
		analysed += rep.Analysed
		frames += uint64(2 * rep.Frames)
		usable += rep.Overall.UsablePct
		correct += rep.Overall.CorrectPct
		wall += rep.Wall
		var tb bytes.Buffer
		rep.WriteTable(&tb)
		b.Logf("\n%s", tb.String())
	}
	n := float64(b.N)
	b.ReportMetric(float64(skipped)/n, "skipped/pass")
	b.ReportMetric(float64(analysed)/n, "analysed/pass")
	b.ReportMetric(float64(frames)/n, "offered/pass")
	b.ReportMetric(float64(analysed)/wall.Seconds(), "analysed-fps")
	b.ReportMetric(usable/n, "usable-%")
	b.ReportMetric(correct/n, "correct-%")
}

// benchPeople is samplePeople for a benchmark.
func benchPeople(b *testing.B, p *pipeline.Pipeline) (en, st []passgen.Person, ix *match.Index) {
	return samplePeople(b, p, 6)
}
