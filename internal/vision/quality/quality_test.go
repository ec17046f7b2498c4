package quality

import (
	"image"
	"math"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
)

// frontal is a face in a 200×200 image: box 40..160, eyes 50 px apart,
// nose and ears symmetric.
func frontal() vision.Face {
	return vision.Face{
		Box:   vision.Box{X0: 40, Y0: 40, X1: 160, Y1: 160},
		Score: 0.9,
		Landmarks: [vision.NumLandmarks]vision.Point{
			{X: 75, Y: 85}, {X: 125, Y: 85}, {X: 100, Y: 110}, {X: 100, Y: 135}, {X: 45, Y: 95}, {X: 155, Y: 95},
		},
	}
}

// texture fills a 200×200 BGR image with random blocks of 4 px around
// level mean with amplitude amp, blurred by a Gaussian of sigma (0: none).
func texture(t *testing.T, mean, amp, sigma float64) gocv.Mat {
	rng := rand.New(rand.NewSource(1))
	m := gocv.NewMatWithSize(200, 200, gocv.MatTypeCV8UC3)
	for y := 0; y < 200; y += 4 {
		for x := 0; x < 200; x += 4 {
			v := max(0, min(255, mean+amp*(2*rng.Float64()-1)))
			roi := m.Region(image.Rect(x, y, x+4, y+4))
			roi.SetTo(gocv.NewScalar(v, v, v, 0))
			roi.Close()
		}
	}
	if sigma > 0 {
		gocv.GaussianBlur(m, &m, image.Pt(0, 0), sigma, sigma, gocv.BorderReflect101)
	}
	return m
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name             string
		mean, amp, sigma float64
		face             func() vision.Face
		usable           bool
		reason           string
	}{
		{"sharp mid-gray", 128, 60, 0, frontal, true, ""},
		{"blurred", 128, 60, 4, frontal, false, "blurred"},
		{"dark", 15, 10, 0, frontal, false, "too dark"},
		{"bright", 246, 8, 0, frontal, false, "too bright"},
		{"clipped", 128, 500, 0, frontal, false, "clipped"},
		{"small", 128, 60, 0, func() vision.Face {
			f := frontal()
			f.Landmarks[vision.LeftEye].X = 85 // 10 px apart
			return f
		}, false, "eyes 10 px"},
		{"turned, reported not gated by default", 128, 60, 0, func() vision.Face {
			f := frontal()
			f.Landmarks[vision.NoseTip].X = 140
			return f
		}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := texture(t, tc.mean, tc.amp, tc.sigma)
			defer img.Close()
			r, err := Assess(img, tc.face(), Thresholds{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Usable != tc.usable || !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("usable %v reason %q, want %v %q (report %+v)", r.Usable, r.Reason, tc.usable, tc.reason, r)
			}
		})
	}
}

func TestYawGateWhenSet(t *testing.T) {
	img := texture(t, 128, 60, 0)
	defer img.Close()
	f := frontal()
	f.Landmarks[vision.NoseTip].X = 140
	th := DefaultThresholds
	th.MaxYaw = 35
	r, err := Assess(img, f, th)
	if err != nil {
		t.Fatal(err)
	}
	if r.Usable || !strings.Contains(r.Reason, "turned") {
		t.Fatalf("usable %v reason %q, want refused as turned (yaw %.0f)", r.Usable, r.Reason, r.Yaw)
	}
}

func TestSharpnessOrdersBlur(t *testing.T) {
	prev := math.Inf(1)
	for _, sigma := range []float64{0, 1, 2, 4} {
		img := texture(t, 128, 60, sigma)
		r, err := Assess(img, frontal(), Thresholds{})
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Sharpness >= prev {
			t.Errorf("sigma %v: sharpness %v not below %v", sigma, r.Sharpness, prev)
		}
		prev = r.Sharpness
	}
}

func TestYaw(t *testing.T) {
	f := frontal()
	if y := Yaw(f); math.Abs(y) > 1e-9 {
		t.Errorf("frontal yaw %v", y)
	}
	// nose halfway between centre (100) and left ear (155): r = 0.5 → 30°
	f.Landmarks[vision.NoseTip].X = 127.5
	if y := Yaw(f); math.Abs(y-30) > 1e-6 {
		t.Errorf("yaw %v, want 30", y)
	}
	f.Landmarks[vision.NoseTip].X = 72.5
	if y := Yaw(f); math.Abs(y+30) > 1e-6 {
		t.Errorf("yaw %v, want -30", y)
	}
	// roll does not change yaw: rotate the whole face by 40°
	rot := func(p vision.Point) vision.Point {
		s, c := math.Sincos(40 * math.Pi / 180)
		x, y := float64(p.X-100), float64(p.Y-100)
		return vision.Point{X: float32(100 + c*x - s*y), Y: float32(100 + s*x + c*y)}
	}
	g := f
	for i := range g.Landmarks {
		g.Landmarks[i] = rot(f.Landmarks[i])
	}
	if y := Yaw(g); math.Abs(y+30) > 1e-3 {
		t.Errorf("rolled yaw %v, want -30", y)
	}
	// beyond the ear saturates
	f.Landmarks[vision.NoseTip].X = 170
	if y := Yaw(f); y != 90 {
		t.Errorf("saturated yaw %v", y)
	}
}

func TestAssessBadInput(t *testing.T) {
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := Assess(empty, frontal(), Thresholds{}); err == nil {
		t.Error("empty image accepted")
	}
	img := texture(t, 128, 60, 0)
	defer img.Close()
	f := frontal()
	f.Box = vision.Box{X0: 300, Y0: 300, X1: 400, Y1: 400}
	if _, err := Assess(img, f, Thresholds{}); err == nil {
		t.Error("box outside image accepted")
	}
	f.Box = vision.Box{X0: -50, Y0: -50, X1: 60, Y1: 60} // partly outside: clipped, fine
	if _, err := Assess(img, f, Thresholds{}); err != nil {
		t.Error(err)
	}
}

// TestSharpnessCalibration measures sharpness on the johns chips (sharp,
// aligned 150×150 faces) and blurred copies: the figures behind
// DefaultThresholds.MinSharpness.
func TestSharpnessCalibration(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "datasets", "johns")
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*.jpg"))
	if len(paths) == 0 {
		t.Skip("../shared/datasets/johns absent")
	}
	// the face region of a chip (box as the detector draws it, roughly)
	f := vision.Face{Box: vision.Box{X0: 25, Y0: 25, X1: 125, Y1: 140}}
	f.Landmarks[vision.RightEye] = vision.Point{X: 52, Y: 60}
	f.Landmarks[vision.LeftEye] = vision.Point{X: 98, Y: 60}
	for _, sigma := range []float64{0, 1.5, 2.5, 4} {
		var s []float64
		usable := 0
		for _, p := range paths {
			img, err := imageio.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if sigma > 0 {
				// sigma is given at the 96 px patch scale
				k := sigma * 100 / patchSide
				gocv.GaussianBlur(img, &img, image.Pt(0, 0), k, k, gocv.BorderReflect101)
			}
			r, err := Assess(img, f, Thresholds{})
			img.Close()
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, r.Sharpness)
			if r.Sharpness >= DefaultThresholds.MinSharpness {
				usable++
			}
		}
		sort.Float64s(s)
		t.Logf("blur σ=%.1f: sharpness min %.0f median %.0f max %.0f; %d/%d pass MinSharpness %.0f",
			sigma, s[0], s[len(s)/2], s[len(s)-1], usable, len(s), DefaultThresholds.MinSharpness)
		switch {
		case sigma == 0 && usable < len(s):
			t.Errorf("sharp chips rejected: %d/%d pass", usable, len(s))
		case sigma >= 4 && usable > len(s)/10:
			t.Errorf("blurred chips (σ=%.1f) accepted: %d/%d", sigma, usable, len(s))
		}
	}
}

// TestThresholdsFillPerField: setting any one threshold leaves every other
// at its default, so a normal face is not refused as too bright because
// MaxBrightness came out zero.
func TestThresholdsFillPerField(t *testing.T) {
	img := texture(t, 128, 60, 0)
	defer img.Close()
	d := DefaultThresholds
	for _, tc := range []struct {
		name string
		set  func(*Thresholds)
		get  func(Thresholds) float64
	}{
		{"MinEyeDistance", func(th *Thresholds) { th.MinEyeDistance = 30 }, func(th Thresholds) float64 { return float64(th.MinEyeDistance) }},
		{"MinSharpness", func(th *Thresholds) { th.MinSharpness = 50 }, func(th Thresholds) float64 { return th.MinSharpness }},
		{"MinBrightness", func(th *Thresholds) { th.MinBrightness = 40 }, func(th Thresholds) float64 { return th.MinBrightness }},
		{"MaxBrightness", func(th *Thresholds) { th.MaxBrightness = 220 }, func(th Thresholds) float64 { return th.MaxBrightness }},
		{"MaxClipped", func(th *Thresholds) { th.MaxClipped = 0.5 }, func(th Thresholds) float64 { return th.MaxClipped }},
		{"MaxYaw", func(th *Thresholds) { th.MaxYaw = 45 }, func(th Thresholds) float64 { return th.MaxYaw }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var th Thresholds
			tc.set(&th)
			got := th.WithDefaults()
			want := d
			tc.set(&want)
			if got != want {
				t.Errorf("WithDefaults() = %+v, want %+v", got, want)
			}
			if tc.get(got) == tc.get(d) {
				t.Fatal("test sets the default value: cannot tell")
			}
			r, err := Assess(img, frontal(), th)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Usable {
				t.Errorf("a sharp mid-grey face refused with only %s set: %s", tc.name, r.Reason)
			}
		})
	}
}

// TestVerdicts: each failed gate has its typed verdict, and the score of
// a refused face stays below every usable one's.
func TestVerdicts(t *testing.T) {
	small := func() vision.Face {
		f := frontal()
		f.Landmarks[vision.LeftEye].X = 85
		return f
	}
	turned := func() vision.Face {
		f := frontal()
		f.Landmarks[vision.NoseTip].X = 140
		return f
	}
	yaw35 := DefaultThresholds
	yaw35.MaxYaw = 35
	for _, tc := range []struct {
		name             string
		mean, amp, sigma float64
		face             func() vision.Face
		th               Thresholds
		want             vision.Verdict
	}{
		{"ok", 128, 60, 0, frontal, Thresholds{}, vision.VerdictOK},
		{"blurred", 128, 60, 4, frontal, Thresholds{}, vision.VerdictBlurred},
		{"dark", 15, 10, 0, frontal, Thresholds{}, vision.VerdictTooDark},
		{"dark and blurred: exposure named first", 15, 10, 4, frontal, Thresholds{}, vision.VerdictTooDark},
		{"bright", 246, 8, 0, frontal, Thresholds{}, vision.VerdictOverexposed},
		{"small", 128, 60, 0, small, Thresholds{}, vision.VerdictTooSmall},
		{"turned", 128, 60, 0, turned, yaw35, vision.VerdictBadPose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := texture(t, tc.mean, tc.amp, tc.sigma)
			defer img.Close()
			r, err := Assess(img, tc.face(), tc.th)
			if err != nil {
				t.Fatal(err)
			}
			q := r.Quality()
			if q.Verdict != tc.want || q.Usable() != (tc.want == vision.VerdictOK) || q.Usable() != r.Usable {
				t.Errorf("verdict %q usable %v, want %q (%s)", q.Verdict, q.Usable(), tc.want, r.Reason)
			}
			if q.Usable() && !(q.Score > 0.2 && q.Score <= 1) || !q.Usable() && !(q.Score >= 0 && q.Score <= 0.2) {
				t.Errorf("score %.3f for verdict %q", q.Score, q.Verdict)
			}
		})
	}
}

// TestScoreOrders: among usable shots, the score rises with resolution and
// sharpness, and falls as the face nears an exposure limit.
func TestScoreOrders(t *testing.T) {
	assess := func(mean, sigma float64, eyes float32) float64 {
		img := texture(t, mean, 60, sigma)
		defer img.Close()
		f := frontal()
		f.Landmarks[vision.LeftEye].X = f.Landmarks[vision.RightEye].X + eyes
		r, err := Assess(img, f, Thresholds{})
		if err != nil || !r.Usable {
			t.Fatalf("mean %v sigma %v eyes %v: %v %s", mean, sigma, eyes, err, r.Reason)
		}
		return r.Score
	}
	if a, b := assess(128, 0, 30), assess(128, 0, 50); a >= b {
		t.Errorf("eyes 30 px scored %.3f, 50 px %.3f", a, b)
	}
	if a, b := assess(128, 2, 50), assess(128, 0, 50); a >= b {
		t.Errorf("slightly blurred scored %.3f, sharp %.3f", a, b)
	}
	if a, b := assess(65, 0, 50), assess(128, 0, 50); a >= b {
		t.Errorf("dim scored %.3f, mid-grey %.3f", a, b)
	}
}
