package quality

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
)

// Thresholds decide Usable. Every zero field means that field of
// DefaultThresholds (WithDefaults), so setting one threshold leaves the
// others at their defaults. To turn a gate off, set it to a value that
// never fires (MaxYaw 90, MaxClipped 1, MaxBrightness 255).
type Thresholds struct {
	// MinEyeDistance in image pixels. The recogniser's 150×150 chip has
	// the eyes about 47 px apart (see package align); below about half of
	// that the chip is mostly interpolation.
	MinEyeDistance float32
	// MinSharpness is the lowest variance of the Laplacian over the face
	// normalised to a 96×96 gray patch. Measured on the 55 johns chips
	// (TestSharpnessCalibration): sharp ones 289–9209 (median 1297);
	// blurred with a Gaussian of σ=2.5 px at patch scale 33–301 (median
	// 121), σ=4 mostly below 100. The figure depends on content (hair,
	// background edges), so it separates sharp from badly blurred, not
	// slight blur. Sensor noise in dark frames raises it: the exposure
	// checks catch those.
	MinSharpness float64
	// MinBrightness and MaxBrightness bound the mean gray level (0–255)
	// of the face patch.
	MinBrightness, MaxBrightness float64
	// MaxClipped is the largest share of face pixels at ≤ 5 or ≥ 250.
	MaxClipped float64
	// MaxYaw in degrees, either way, on Yaw's scale. Yaw saturates at 90°
	// once the nose passes an ear keypoint (a profile), and its figures for
	// turned heads run high: on the face-api sample photos, faces it put at
	// 34–77° (and two at 90°) still matched a mirrored, rescaled, darker
	// second capture at template distance ≤ 0.21, against a match threshold
	// of 0.40, and so did a 1080p bench face it saturated at 90°: the far
	// ear's keypoint lands on the cheek once the ear is hidden. So by default
	// yaw is reported with every face but does not gate (90 = off); set a
	// lower value only with a better pose estimate than the keypoints give.
	MaxYaw float64
}

// DefaultThresholds are used for a zero Thresholds.
//
// The size and exposure limits are calibrated on matching, not looks, with
// `laned eval capture --gates-off` on johns (docs/recognition.md): with the
// gates open, rank-1 stayed 1.0 and FNIR 0 with the eyes 18 px apart, and
// FNIR stayed at 0.02 in a cabin at 35% of the light (face mean ≈ 30–40),
// rising to 0.22 at 20% (mean ≈ 20) and 0.92 at 12%; so MinEyeDistance is
// 20 (the measured eye distance of a face rendered at 24 px runs ~6%
// short) and MinBrightness 25. Veiling glare of 40% kept FNIR at 0.06 and
// glare of 60% raised it to 0.32: MaxBrightness 225 and MaxClipped 0.3
// pass the first and refuse the worst of the second.
var DefaultThresholds = Thresholds{
	MinEyeDistance: 14,
	MinSharpness:   100,
	MinBrightness:  25,
	MaxBrightness:  235,
	MaxClipped:     0.4,
	MaxYaw:         90,
}

// WithDefaults returns th with every zero field set to its default.
func (th Thresholds) WithDefaults() Thresholds {
	d := DefaultThresholds
	fill := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	if th.MinEyeDistance == 0 {
		th.MinEyeDistance = d.MinEyeDistance
	}
	fill(&th.MinSharpness, d.MinSharpness)
	fill(&th.MinBrightness, d.MinBrightness)
	fill(&th.MaxBrightness, d.MaxBrightness)
	fill(&th.MaxClipped, d.MaxClipped)
	fill(&th.MaxYaw, d.MaxYaw)
	return th
}

// Report is the measured quality of one face.
type Report struct {
	EyeDistance float32 `json:"eye_distance"` // px
	Sharpness   float64 `json:"sharpness"`    // variance of Laplacian, 96×96 gray patch
	Brightness  float64 `json:"brightness"`   // mean gray level 0–255
	Clipped     float64 `json:"clipped"`      // share of pixels ≤ 5 or ≥ 250
	Yaw         float64 `json:"yaw"`          // degrees, + when turned to the subject's left
	Usable      bool    `json:"usable"`
	// Verdict is the first gate the face failed (VerdictOK when usable),
	// in the order size, exposure, sharpness, pose: a dark frame's noise
	// can pass for sharpness, so exposure is named before it.
	Verdict vision.Verdict `json:"verdict"`
	// Score in [0,1] ranks shots of one face (see score).
	Score  float64 `json:"score"`
	Reason string  `json:"reason,omitempty"` // why not usable
}

// Quality is the report in the cgo-free form pipeline consumers use.
func (r Report) Quality() vision.Quality {
	return vision.Quality{
		EyeDistance: r.EyeDistance, Sharpness: r.Sharpness, Brightness: r.Brightness,
		Clipped: r.Clipped, Yaw: r.Yaw, Score: r.Score, Verdict: r.Verdict, Reason: r.Reason,
	}
}

// Refused is the report of a face that could not be measured or aligned:
// verdict v, score 0, reason why.
func Refused(f vision.Face, v vision.Verdict, why string) Report {
	return Report{EyeDistance: f.EyeDistance(), Yaw: Yaw(f), Verdict: v, Reason: why}
}

// patchSide is the side of the gray patch sharpness and exposure are
// measured on, so that figures compare across face sizes.
const patchSide = 96

// Assess measures face f found in img (8-bit BGR) and judges it against
// th (zero value: DefaultThresholds). The patch measured is the face box,
// clipped to the image.
func Assess(img gocv.Mat, f vision.Face, th Thresholds) (Report, error) {
	th = th.WithDefaults()
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return Report{}, errors.New("quality: want a non-empty 8-bit BGR image")
	}
	r := image.Rect(int(f.Box.X0), int(f.Box.Y0), int(math.Ceil(float64(f.Box.X1))), int(math.Ceil(float64(f.Box.Y1)))).
		Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if r.Dx() < 2 || r.Dy() < 2 {
		return Report{}, fmt.Errorf("quality: face box %v outside the %dx%d image", f.Box, img.Cols(), img.Rows())
	}
	roi := img.Region(r)
	defer roi.Close()
	rep := Report{EyeDistance: f.EyeDistance(), Yaw: Yaw(f)}
	var err error
	if rep.Sharpness, rep.Brightness, rep.Clipped, err = measurePatch(roi); err != nil {
		return Report{}, err
	}
	rep.Verdict, rep.Reason = judge(rep, th)
	rep.Usable = rep.Verdict == vision.VerdictOK
	rep.Score = score(rep, th)
	return rep, nil
}

// measurePatch resizes a BGR face region to a patchSide gray square and
// returns the variance of its Laplacian, mean level and clipped share.
func measurePatch(bgr gocv.Mat) (sharp, mean, clipped float64, err error) {
	gray := gocv.NewMat()
	defer gray.Close()
	small := gocv.NewMat()
	defer small.Close()
	lap := gocv.NewMat()
	defer lap.Close()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	interp := gocv.InterpolationArea
	if gray.Cols() < patchSide {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(gray, &small, image.Pt(patchSide, patchSide), 0, 0, interp)
	gocv.Laplacian(small, &lap, gocv.MatTypeCV64F, 3, 1, 0, gocv.BorderReflect101)
	m, sd := gocv.NewMat(), gocv.NewMat()
	defer m.Close()
	defer sd.Close()
	gocv.MeanStdDev(lap, &m, &sd)
	s := sd.GetDoubleAt(0, 0)
	sharp = s * s
	px, err := small.DataPtrUint8()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("quality: %w", err)
	}
	var sum, clip int
	for _, v := range px {
		sum += int(v)
		if v <= 5 || v >= 250 {
			clip++
		}
	}
	return sharp, float64(sum) / float64(len(px)), float64(clip) / float64(len(px)), nil
}

// Yaw estimates the head's yaw in degrees from the keypoints: where the
// nose tip falls between the two ear tragions along the eye line (so head
// roll does not matter). 0 is frontal; positive when the nose is nearer
// the subject's left ear (head turned to the subject's left, towards the
// image right). It saturates at ±90.
func Yaw(f vision.Face) float64 {
	l := f.Landmarks
	ux := float64(l[vision.LeftEye].X - l[vision.RightEye].X)
	uy := float64(l[vision.LeftEye].Y - l[vision.RightEye].Y)
	n := math.Hypot(ux, uy)
	if n == 0 {
		return 0
	}
	ux, uy = ux/n, uy/n
	proj := func(p vision.Point) float64 { return float64(p.X)*ux + float64(p.Y)*uy }
	nose := proj(l[vision.NoseTip])
	p := nose - proj(l[vision.RightEarTragion]) // right ear → nose
	q := proj(l[vision.LeftEarTragion]) - nose  // nose → left ear
	if p+q <= 0 {
		return 0
	}
	r := (p - q) / (p + q)
	return math.Asin(max(-1, min(1, r))) * 180 / math.Pi
}

// judge returns the verdict (the first failed gate, see Report.Verdict)
// and every reason the face failed.
func judge(r Report, th Thresholds) (vision.Verdict, string) {
	v := vision.VerdictOK
	var why []string
	fail := func(verdict vision.Verdict, format string, args ...any) {
		if v == vision.VerdictOK {
			v = verdict
		}
		why = append(why, fmt.Sprintf(format, args...))
	}
	if r.EyeDistance < th.MinEyeDistance {
		fail(vision.VerdictTooSmall, "eyes %.0f px apart < %.0f", r.EyeDistance, th.MinEyeDistance)
	}
	if r.Brightness < th.MinBrightness {
		fail(vision.VerdictTooDark, "too dark (mean %.0f < %.0f)", r.Brightness, th.MinBrightness)
	}
	if r.Brightness > th.MaxBrightness {
		fail(vision.VerdictOverexposed, "too bright (mean %.0f > %.0f)", r.Brightness, th.MaxBrightness)
	}
	if r.Clipped > th.MaxClipped {
		clip := vision.VerdictOverexposed
		if r.Brightness < 128 {
			clip = vision.VerdictTooDark
		}
		fail(clip, "%.0f%% clipped > %.0f%%", 100*r.Clipped, 100*th.MaxClipped)
	}
	if r.Sharpness < th.MinSharpness {
		fail(vision.VerdictBlurred, "blurred (sharpness %.0f < %.0f)", r.Sharpness, th.MinSharpness)
	}
	if math.Abs(r.Yaw) > th.MaxYaw {
		fail(vision.VerdictBadPose, "turned %.0f° > %.0f°", math.Abs(r.Yaw), th.MaxYaw)
	}
	return v, strings.Join(why, "; ")
}

// Score is the 0–1 figure a consumer ranks shots of one face by. It is
// the product of one factor per measure, each 1 where the measure no
// longer limits matching and falling towards its gate:
//   - resolution: eye distance over 48 px (the chip has the eyes 54 px
//     apart, so beyond that the chip is downscaled and gains nothing),
//   - sharpness: log-scaled from the gate (0) to ten times it (1),
//   - exposure: mean level at least 40 grey levels inside both limits,
//   - clipping: share of clipped pixels against its limit,
//   - pose: the cosine of the yaw.
//
// Each factor but resolution enters as ½ + ½·f, so no single measure
// zeroes a face that passed. A usable face scores in (0.2, 1], an
// unusable one in [0, 0.2]: every usable shot outranks every refused one.
// The weights are a ranking heuristic; which measures predict matching is
// calibrated in issue 12's evaluation (docs/recognition.md).
func score(r Report, th Thresholds) float64 {
	clamp := func(x float64) float64 { return max(0, min(1, x)) }
	size := clamp(float64(r.EyeDistance) / 48)
	sharp := 0.0
	if r.Sharpness > 0 {
		sharp = clamp(math.Log(r.Sharpness/th.MinSharpness) / math.Log(10))
	}
	expo := clamp(min(r.Brightness-th.MinBrightness, th.MaxBrightness-r.Brightness) / 40)
	clip := clamp(1 - r.Clipped/th.MaxClipped)
	pose := clamp(math.Cos(r.Yaw * math.Pi / 180))
	half := func(f float64) float64 { return 0.5 + 0.5*f }
	p := size * half(sharp) * half(expo) * half(clip) * half(pose)
	if r.Verdict == vision.VerdictOK {
		return 0.2 + 0.8*p
	}
	return 0.2 * p
}
