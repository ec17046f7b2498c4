package trigger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/trigger"
)

// A synthetic lane seen from the side: a textured road with a lane
// marking, cars of different length, colour and speed driving through,
// sensor noise and an auto-exposure that hunts. The arrival loop lies
// under x ∈ [loopX0, loopX1); it is active while more than loopSense
// pixels of a car's body are over it.
const (
	W, H           = 160, 90
	fps            = 25
	loopX0, loopX1 = 65, 95
	loopSense      = 4
	bodyY0, bodyY1 = 48, 80
)

type car struct {
	enter  int     // frame the front reaches x=0
	length int     // px
	speed  float64 // px per frame
	body   [3]byte // BGR
}

var lane = []car{
	{enter: 10, length: 70, speed: 4, body: [3]byte{40, 40, 45}},      // dark saloon
	{enter: 110, length: 85, speed: 3, body: [3]byte{230, 235, 235}},  // white van, slower
	{enter: 230, length: 55, speed: 5, body: [3]byte{120, 110, 105}},  // grey hatchback, close to the road's tone
	{enter: 300, length: 75, speed: 3.75, body: [3]byte{30, 30, 170}}, // red estate: the asphalt's luma, only its colour differs
}

const nFrames = 420

var noise = func() []int8 {
	rng := rand.New(rand.NewPCG(3, 4))
	n := make([]int8, 1<<16+17)
	for i := range n {
		n[i] = int8(rng.IntN(13) - 6)
	}
	return n
}()

func (c car) span(i int) (rear, front float64) {
	front = float64(i-c.enter) * c.speed
	return front - float64(c.length), front
}

func background(rng *rand.Rand) []byte {
	bg := make([]byte, 3*W*H)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			v := 70 + rng.IntN(30) // asphalt texture
			if y < 40 {
				v = 150 + (x/20%2)*30 // booth wall
			}
			if y >= 83 && y < 85 && x%20 < 12 {
				v = 220 // lane marking
			}
			o := 3 * (y*W + x)
			bg[o], bg[o+1], bg[o+2] = byte(v), byte(v), byte(v+4)
		}
	}
	return bg
}

// render draws frame i into pix.
func render(pix, bg []byte, i int, rng *rand.Rand) {
	copy(pix, bg)
	for _, c := range lane {
		rear, front := c.span(i)
		for x := max(0, int(rear)); x < min(W, int(front)); x++ {
			rel := float64(x) - rear
			for y := bodyY0 - 12; y < bodyY1; y++ {
				col := c.body
				switch {
				case y < bodyY0 && (rel < float64(c.length)*0.2 || rel > float64(c.length)*0.85):
					continue // roof shorter than the body
				case y < bodyY0+5 && y >= bodyY0-10:
					col = [3]byte{60, 55, 50} // windows
				case y > bodyY1-6 && (math.Mod(rel, float64(c.length)*0.7) < 11):
					col = [3]byte{15, 15, 15} // wheels
				}
				o := 3 * (y*W + x)
				pix[o], pix[o+1], pix[o+2] = col[0], col[1], col[2]
			}
		}
	}
	// Exposure hunting (±15 %) and sensor noise (±6, from a table at a
	// random offset per frame: cheap enough under -race).
	g := int32(256 * (1 + 0.15*math.Sin(2*math.Pi*float64(i)/(7*fps))))
	off := rng.IntN(len(noise))
	for k := range pix {
		v := (int32(pix[k])*g)>>8 + int32(noise[(k+off)%len(noise)])
		pix[k] = byte(max(0, min(255, v)))
	}
}

// loopTransitions is the ground truth of the arrival loop.
func loopTransitions(start time.Time) []sensor.Transition {
	var out []sensor.Transition
	on := false
	for i := 0; i < nFrames; i++ {
		now := false
		for _, c := range lane {
			rear, front := c.span(i)
			if math.Min(front, loopX1)-math.Max(rear, loopX0) > loopSense {
				now = true
			}
		}
		if now != on {
			on = now
			out = append(out, sensor.Transition{Input: "arrival", Active: on, At: start.Add(time.Duration(i) * time.Second / fps)})
		}
	}
	return out
}

// recordPasses writes the passes as laned record does: frames as JPEG
// (what a camera would have sent) in a folder and the loop as
// sensors.csv.
func recordPasses(t *testing.T, dir string) {
	t.Helper()
	cam := filepath.Join(dir, "side")
	if err := os.MkdirAll(cam, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	bg := background(rng)
	f := frame.Frame{Width: W, Height: H, Pix: make([]byte, 3*W*H)}
	for i := 0; i < nFrames; i++ {
		render(f.Pix, bg, i, rng)
		out, err := os.Create(filepath.Join(cam, fmt.Sprintf("%06d.jpg", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(out, camera.BGRImage(&f), &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	csv, err := os.Create(filepath.Join(dir, "sensors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer csv.Close()
	zero := time.Unix(0, 0)
	w, _ := sensor.NewCSVWriter(bufio.NewWriter(csv), zero)
	for _, tr := range loopTransitions(zero) {
		w.Write(tr)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestVideoTriggerMatchesLoopsOnReplayedPasses(t *testing.T) {
	dir := t.TempDir()
	recordPasses(t, dir)

	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	src, err := camera.NewDir(camera.Config{Name: "side", Replay: filepath.Join(dir, "side"), FPS: fps}, camera.ReplayOptions{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.Open(filepath.Join(dir, "sensors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	loops, err := sensor.ParseCSV(csv, start)
	csv.Close()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trigger.New(trigger.Config{Name: "video-side", Camera: "side",
		Step: 2, Region: trigger.Rect{X: float64(loopX0) / W, Y: float64(bodyY0) / H, W: float64(loopX1-loopX0) / W, H: float64(bodyY1-bodyY0) / H}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	go src.Run(ctx)
	var video []sensor.Transition
	var f frame.Frame
	for {
		if err := src.Next(ctx, &f); errors.Is(err, camera.ErrEnded) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if x, ok := tr.Observe(&f); ok {
			video = append(video, x)
		}
	}
	if len(loops) != 2*len(lane) {
		t.Fatalf("ground truth has %d loop transitions for %d cars", len(loops), len(lane))
	}
	if len(video) != len(loops) {
		t.Fatalf("video trigger: %d transitions, loops %d\nvideo %v\nloops %v", len(video), len(loops), video, loops)
	}
	var worst time.Duration
	for i := range loops {
		d := video[i].At.Sub(loops[i].At)
		if video[i].Active != loops[i].Active {
			t.Fatalf("transition %d: video %v, loop %v", i, video[i], loops[i])
		}
		t.Logf("%-8v loop %s video %+4dms", map[bool]string{true: "present", false: "absent"}[loops[i].Active],
			loops[i].At.Format("05.000"), d.Milliseconds())
		worst = max(worst, d.Abs())
	}
	t.Logf("%d passes: worst |video - loop| = %v", len(lane), worst)
	if worst > 200*time.Millisecond {
		t.Errorf("video trigger off by %v from the loops, want ≤ 200 ms", worst)
	}
}
