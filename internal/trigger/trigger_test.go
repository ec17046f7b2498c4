package trigger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/trigger"
)

func flat(w, h int, v byte, t time.Time) *frame.Frame {
	f := &frame.Frame{Camera: "front", Width: w, Height: h, Time: t, Pix: make([]byte, 3*w*h)}
	for i := range f.Pix {
		f.Pix[i] = v + byte(i*7%13)
	}
	return f
}

func TestExposureChangeIsNotAVehicle(t *testing.T) {
	tr, err := trigger.New(trigger.Config{Name: "video-front", Camera: "front", Region: trigger.Rect{X: 0.25, Y: 0.25, W: 0.5, H: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0, 0)
	// The whole picture brightens by 60 in 4 frames (auto-exposure).
	for i, v := range []byte{60, 60, 75, 90, 105, 120, 120, 120} {
		if x, ok := tr.Observe(flat(64, 48, v, at.Add(time.Duration(i)*40*time.Millisecond))); ok {
			t.Fatalf("frame %d (level %d): %v", i, v, x)
		}
	}
	// A block covering the whole region (a third of the frame) is a
	// vehicle all the same.
	var got []bool
	for i := 0; i < 20; i++ {
		f := flat(64, 48, 120, at.Add(time.Duration(8+i)*40*time.Millisecond))
		if i < 10 {
			for y := 10; y < 38; y++ {
				for x := 14; x < 50; x++ {
					o := 3 * (y*64 + x)
					f.Pix[o], f.Pix[o+1], f.Pix[o+2] = 20, 20, 20
				}
			}
		}
		if x, ok := tr.Observe(f); ok {
			got = append(got, x.Active)
		}
	}
	if len(got) != 2 || !got[0] || got[1] {
		t.Errorf("full-region vehicle: transitions %v, want present then absent", got)
	}
	if s := tr.Stats(); s.Transitions != 2 || s.Present {
		t.Errorf("stats %+v", s)
	}
}

func TestOtherCameraIgnored(t *testing.T) {
	tr, _ := trigger.New(trigger.Config{Name: "v", Camera: "front"})
	f := flat(32, 32, 10, time.Unix(0, 0))
	f.Camera = "side"
	tr.Observe(f)
	if tr.Stats().Frames != 0 {
		t.Error("a frame of another camera was measured")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		c    trigger.Config
		want string
	}{
		{trigger.Config{Camera: "front"}, "trigger.name:"},
		{trigger.Config{Name: "v", Camera: "front", Region: trigger.Rect{X: 0.8, Y: 0, W: 0.5, H: 1}}, `trigger.region: trigger "v" (camera "front") region`},
		{trigger.Config{Name: "v", Camera: "front", On: 0.1, Off: 0.2}, "trigger.on:"},
		{trigger.Config{Name: "v", Camera: "front", Key: "triggers[2]", Step: 100}, "triggers[2].step:"},
	}
	for _, tt := range tests {
		if _, err := trigger.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.c, err, tt.want)
		}
	}
}

func TestObserveAllocationFree(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	tr, _ := trigger.New(trigger.Config{Name: "v", Camera: "front", Region: trigger.Rect{X: 0.3, Y: 0.5, W: 0.4, H: 0.4}})
	f := flat(1920, 1080, 80, time.Unix(0, 0))
	tr.Observe(f)
	if n := testing.AllocsPerRun(50, func() { tr.Observe(f) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// BenchmarkObserve1080p: the per-frame cost of a virtual loop over 16 %
// of a 1080p frame at the default step.
func BenchmarkObserve1080p(b *testing.B) {
	tr, _ := trigger.New(trigger.Config{Name: "v", Camera: "front", Region: trigger.Rect{X: 0.3, Y: 0.5, W: 0.4, H: 0.4}})
	f := flat(1920, 1080, 80, time.Unix(0, 0))
	b.ReportAllocs()
	for b.Loop() {
		tr.Observe(f)
	}
}

func TestValidateAllUnknownCamera(t *testing.T) {
	_, err := trigger.ValidateAll([]trigger.Config{
		{Name: "video-front", Camera: "front"},
		{Name: "video-rear", Camera: "rear"},
		{Name: "video-front", Camera: "side"},
	}, []string{"front", "side"})
	for _, want := range []string{
		`triggers[1].camera: trigger "video-rear": unknown camera "rear" (cameras: front, side)`,
		`triggers[2].name: trigger "video-front": duplicate name; triggers[0] has it`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant containing %s", err, want)
		}
	}
}
