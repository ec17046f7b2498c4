package passgen

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var dump = flag.String("dump", "", "write the rendered test frames as PNGs to this directory")

func people(ids ...string) []Person {
	var out []Person
	for _, id := range ids {
		out = append(out, Person{ID: id, Enrolled: !strings.HasPrefix(id, "X"), Face: SyntheticFace(id)})
	}
	return out
}

func testScenario(t testing.TB) *Scenario {
	s, err := Generate(Config{Width: 640, Height: 360, Cameras: []string{"front", "side"}, Seed: 1}, []Vehicle{
		{Occupants: people("S-1", "S-2"), Speed: 3, Variant: Normal, Gap: time.Second},
		{Occupants: people("S-3", "X-1", "S-4", "S-5"), Speed: 3, Variant: Glare, Gap: 3 * time.Second},
		{Occupants: people("S-6"), Speed: 2.5, Variant: Blur, Gap: -3 * time.Second},
		{Occupants: people("S-7", "S-8"), Speed: 4, Variant: Dark, Gap: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeterministic(t *testing.T) {
	a, b := testScenario(t), testScenario(t)
	for _, i := range []int{0, 20, 40, 80, 120} {
		for _, cam := range a.Cameras() {
			fa, fb := a.Render(cam, i), b.Render(cam, i)
			if fa == nil {
				t.Fatalf("no frame %d", i)
			}
			if err := fa.Validate(); err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(fa.Pix) != sha256.Sum256(fb.Pix) || !fa.Time.Equal(fb.Time) || fa.Seq != uint64(i+1) {
				t.Fatalf("frame %s/%d differs between two generations of one seed", cam, i)
			}
			if *dump != "" {
				os.MkdirAll(*dump, 0o755)
				var buf bytes.Buffer
				png.Encode(&buf, ToImage(fa))
				os.WriteFile(filepath.Join(*dump, fmt.Sprintf("%s-%04d.png", cam, i)), buf.Bytes(), 0o644)
			}
		}
	}
}

// TestTruthAndLoops: every vehicle's faces appear between its entry and
// exit, the loops bracket it, the empty stretches show nothing.
func TestTruthAndLoops(t *testing.T) {
	s := testScenario(t)
	vs := s.Vehicles()
	seen := map[[2]int]int{}
	empty := 0
	for i := range s.Frames() {
		fs := s.Faces("front", i)
		if len(fs) == 0 {
			empty++
		}
		for _, f := range fs {
			seen[[2]int{f.Vehicle, f.Occupant}]++
			v := vs[f.Vehicle]
			if at := s.FrameTime(i); at < v.Enter || at > v.Exit {
				t.Errorf("face of vehicle %d at %s outside its %s–%s", f.Vehicle, at, v.Enter, v.Exit)
			}
			if f.Box.Empty() || f.Box.Min.X < 0 || f.Box.Max.X > 640 {
				t.Errorf("box %v", f.Box)
			}
			if v.Variant == Glare && f.Glare < 0 || f.Variant == Dark && f.Gain >= 1 || f.Variant == Blur && f.Blur == 0 {
				t.Errorf("variant %s not applied: %+v", f.Variant, f)
			}
		}
	}
	for _, v := range vs {
		for k := range v.Occupants {
			if seen[[2]int{v.Index, k}] < 3 {
				t.Errorf("vehicle %d occupant %d seen in %d frames", v.Index, k, seen[[2]int{v.Index, k}])
			}
		}
		if !(v.Enter < v.Arrive && v.Arrive < v.Depart && v.Depart < v.Exit) {
			t.Errorf("vehicle %d: enter %s arrive %s depart %s exit %s", v.Index, v.Enter, v.Arrive, v.Depart, v.Exit)
		}
	}
	if empty < s.FPS() {
		t.Errorf("only %d empty-lane frames", empty)
	}
	// Loops: balanced per input, time-ordered.
	level := map[string]int{}
	var last time.Duration
	for _, tr := range s.Transitions() {
		if tr.At < last {
			t.Fatal("transitions out of order")
		}
		last = tr.At
		if tr.Active {
			level[tr.Input]++
		} else {
			level[tr.Input]--
		}
		if level[tr.Input] < 0 || level[tr.Input] > 1 {
			t.Fatalf("%s level %d at %s", tr.Input, level[tr.Input], tr.At)
		}
	}
	// The tailgater (vehicle 2, gap -3s) arrives before vehicle 1 leaves the departure loop.
	if !(vs[2].Arrive < vs[1].Depart) {
		t.Errorf("tailgater arrives %s, previous departs %s", vs[2].Arrive, vs[1].Depart)
	}
}

func TestGenerateRefuses(t *testing.T) {
	for _, c := range []struct {
		v    Vehicle
		want string
	}{
		{Vehicle{Speed: 3}, "0 occupants"},
		{Vehicle{Occupants: people("a", "b", "c", "d", "e"), Speed: 3}, "5 occupants"},
		{Vehicle{Occupants: []Person{{ID: "a"}}, Speed: 3}, "no face image"},
		{Vehicle{Occupants: people("a"), Speed: 30}, "speed"},
		{Vehicle{Occupants: people("a"), Speed: 3, Variant: "fog"}, "variant"},
	} {
		if _, err := Generate(Config{}, []Vehicle{c.v}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func TestSensorsCSV(t *testing.T) {
	s := testScenario(t)
	var buf bytes.Buffer
	if err := WriteSensorsCSV(&buf, s.Transitions()); err != nil {
		t.Fatal(err)
	}
	got, err := ParseSensorsCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(s.Transitions()) {
		t.Fatalf("%d transitions back, want %d", len(got), len(s.Transitions()))
	}
	for _, c := range []struct{ in, want string }{
		{"t_ms,input,level\n10,arrival\n", "line 2: 2 fields"},
		{"10,arrival,2\n", "level"},
		{"10,arrival,1\n5,arrival,0\n", "before the previous"},
		{"x,arrival,1\n", "t_ms"},
		{"10,bad input,1\n", "input"},
		{"10,a," + strings.Repeat("1", 5000) + "\n", "too long"},
	} {
		if _, err := ParseSensorsCSV(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzSensorsCSV(f *testing.F) {
	f.Add("t_ms,input,level\n0,arrival,1\n100,arrival,0\n")
	f.Add("5,video,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseSensorsCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		WriteSensorsCSV(&buf, ts)
		back, err := ParseSensorsCSV(&buf)
		if err != nil || len(back) != len(ts) {
			t.Fatalf("round trip: %v (%d vs %d)", err, len(back), len(ts))
		}
		for i := range ts {
			if back[i] != ts[i] {
				t.Fatalf("round trip %d: %+v vs %+v", i, back[i], ts[i])
			}
		}
	})
}

// BenchmarkRender720p: one 1280×720 frame with a 4-occupant vehicle.
func BenchmarkRender720p(b *testing.B) {
	s, err := Generate(Config{Seed: 2}, []Vehicle{{Occupants: people("a", "b", "c", "d"), Speed: 3, Variant: Glare}})
	if err != nil {
		b.Fatal(err)
	}
	i := s.Frames() / 2
	for b.Loop() {
		s.Render("front", i)
	}
}
