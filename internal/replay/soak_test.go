package replay_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/replay"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/worker"
)

// rssKB reads the resident set size from /proc/self/statm.
func rssKB(t testing.TB) float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / 1024
}

// slope is the least-squares slope of ys over 0, 1, 2, …
func slope(ys []float64) float64 {
	n := float64(len(ys))
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// TestSoakRSS runs repeated vehicles through the lane and reports the RSS
// slope per vehicle. By default a short run with the scripted analyzer
// (the engine's own memory); LANED_SOAK=1 runs the real worker on
// rendered 1280×720 passes for LANED_SOAK_MINUTES (default 30).
func TestSoakRSS(t *testing.T) {
	soak := os.Getenv("LANED_SOAK") == "1"
	if testing.Short() && !soak {
		t.Skip("soak: not in -short")
	}
	people := []passgen.Person{{ID: "a", Enrolled: true, Face: passgen.SyntheticFace("a")}, {ID: "b", Enrolled: true, Face: passgen.SyntheticFace("b")},
		{ID: "c", Face: passgen.SyntheticFace("c")}}
	var an lane.Analyzer
	var g lane.Gallery = lanetest.NewGallery(lanetest.NewSnapshot("1", "a", "b"))
	rounds, minutes := 30, 0.0
	render := false
	mkScenario := func(seed uint64) *passgen.Scenario {
		cfg := passgen.Config{Cameras: []string{"front", "rear"}, Seed: seed, Width: 320, Height: 180}
		if soak {
			cfg.Width, cfg.Height = 0, 0
		}
		s, err := passgen.Generate(cfg, lanetest.Mix(seed, people, 5))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if soak {
		minutes = 30
		if v, err := strconv.ParseFloat(os.Getenv("LANED_SOAK_MINUTES"), 64); err == nil && v > 0 {
			minutes = v
		}
		p := openPipeline(t)
		en, st, ix := samplePeople(t, p, 3)
		people = append(en, st...)
		w, stop, err := worker.Start(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		an, g, render = w.Client(worker.PriorityLane), replay.FromIndex(ix, "1", pipeline.ModelID), true
	}
	var rss []float64
	vehicles := 0
	start := time.Now()
	for i := 0; ; i++ {
		if soak && time.Since(start) > time.Duration(minutes*float64(time.Minute)) {
			break
		}
		if !soak && i >= rounds {
			break
		}
		s := mkScenario(uint64(i + 1))
		a := an
		if a == nil {
			a = &lanetest.Analyzer{Script: lanetest.TruthScript(s, uint64(i))}
		}
		rep, err := lanetest.Eval(context.Background(), lanetest.EvalConfig{Scenario: s, Analyzer: a, Gallery: g, Render: render, Lockstep: true})
		if err != nil {
			t.Fatal(err)
		}
		vehicles += rep.Overall.Vehicles
		runtime.GC()
		debug.FreeOSMemory()
		rss = append(rss, rssKB(t))
	}
	// The first rounds warm up pools and caches.
	warm := len(rss) / 5
	sl := slope(rss[warm:]) / 5 // KB per vehicle (5 vehicles a round)
	t.Logf("%d vehicles in %s; RSS %.0f → %.0f KB; slope after warm-up %.2f KB/vehicle", vehicles, time.Since(start).Round(time.Second), rss[0], rss[len(rss)-1], sl)
	if sl > 64 {
		t.Errorf("RSS grows %.1f KB per vehicle", sl)
	}
}
