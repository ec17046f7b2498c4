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

// Thresholds decide Usable. The zero value means DefaultThresholds.
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
var DefaultThresholds = Thresholds{
	MinEyeDistance: 24,
	MinSharpness:   100,
	MinBrightness:  50,
	MaxBrightness:  210,
	MaxClipped:     0.2,
	MaxYaw:         90,
}

// Report is the measured quality of one face.
type Report struct {
	EyeDistance float32 `json:"eye_distance"` // px
	Sharpness   float64 `json:"sharpness"`    // variance of Laplacian, 96×96 gray patch
	Brightness  float64 `json:"brightness"`   // mean gray level 0–255
	Clipped     float64 `json:"clipped"`      // share of pixels ≤ 5 or ≥ 250
	Yaw         float64 `json:"yaw"`          // degrees, + when turned to the subject's left
	Usable      bool    `json:"usable"`
	Reason      string  `json:"reason,omitempty"` // why not usable
}

// patchSide is the side of the gray patch sharpness and exposure are
// measured on, so that figures compare across face sizes.
const patchSide = 96

// Assess measures face f found in img (8-bit BGR) and judges it against
// th (zero value: DefaultThresholds). The patch measured is the face box,
// clipped to the image.
func Assess(img gocv.Mat, f vision.Face, th Thresholds) (Report, error) {
	if th == (Thresholds{}) {
		th = DefaultThresholds
	}
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
	rep.Usable, rep.Reason = judge(rep, th)
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

func judge(r Report, th Thresholds) (bool, string) {
	var why []string
	if r.EyeDistance < th.MinEyeDistance {
		why = append(why, fmt.Sprintf("eyes %.0f px apart < %.0f", r.EyeDistance, th.MinEyeDistance))
	}
	if r.Sharpness < th.MinSharpness {
		why = append(why, fmt.Sprintf("blurred (sharpness %.0f < %.0f)", r.Sharpness, th.MinSharpness))
	}
	if r.Brightness < th.MinBrightness {
		why = append(why, fmt.Sprintf("too dark (mean %.0f < %.0f)", r.Brightness, th.MinBrightness))
	}
	if r.Brightness > th.MaxBrightness {
		why = append(why, fmt.Sprintf("too bright (mean %.0f > %.0f)", r.Brightness, th.MaxBrightness))
	}
	if r.Clipped > th.MaxClipped {
		why = append(why, fmt.Sprintf("%.0f%% clipped > %.0f%%", 100*r.Clipped, 100*th.MaxClipped))
	}
	if math.Abs(r.Yaw) > th.MaxYaw {
		why = append(why, fmt.Sprintf("turned %.0f° > %.0f°", math.Abs(r.Yaw), th.MaxYaw))
	}
	return len(why) == 0, strings.Join(why, "; ")
}
