package capture

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
)

// Frame size of a rendered probe: a 720p lane camera.
const (
	FrameWidth  = 1280
	FrameHeight = 720
)

// Variant is one capture condition. The zero value of each field means
// "not degraded" in that respect (EyeDistance 0: DefaultEyeDistance).
type Variant struct {
	Name string `json:"name"`
	// EyeDistance is the face's inter-eye distance in the frame, px.
	EyeDistance float64 `json:"eye_distance"`
	// Gain multiplies the light reaching the sensor (1 or 0: as is; 0.3:
	// a dark cabin at the camera's exposure limit).
	Gain float64 `json:"gain,omitempty"`
	// Noise is the σ of the sensor's Gaussian noise, grey levels, added
	// after the gain (so it weighs more in a dark frame).
	Noise float64 `json:"noise,omitempty"`
	// Glare in [0,1]: veiling glare (contrast lost to scattered light)
	// plus a hot spot of sunlight on the glass beside the face.
	Glare float64 `json:"glare,omitempty"`
	// MotionBlur is the length in px of the horizontal smear of a face
	// moving past the camera during the exposure.
	MotionBlur int `json:"motion_blur,omitempty"`
	// JPEGQuality is the camera's MJPEG quality (0: DefaultJPEGQuality).
	JPEGQuality int `json:"jpeg_quality"`
}

const (
	// DefaultEyeDistance is a driver's face at a lane camera's usual
	// distance: 40 px between the eyes at 1280×720.
	DefaultEyeDistance = 40
	// DefaultJPEGQuality is what MJPEG USB cameras commonly stream at.
	DefaultJPEGQuality = 75
)

func (v Variant) withDefaults() Variant {
	if v.EyeDistance == 0 {
		v.EyeDistance = DefaultEyeDistance
	}
	if v.Gain == 0 {
		v.Gain = 1
	}
	if v.JPEGQuality == 0 {
		v.JPEGQuality = DefaultJPEGQuality
	}
	return v
}

// Moderate are the conditions a working booth must handle, each alone on
// top of the windshield and MJPEG at quality 75 (docs/recognition.md
// explains the figures):
//   - eyes 24–60 px apart (the quality gate's floor to a close driver);
//   - a dark cabin: 35% of the light, noise σ 4 (an exposure two stops
//     short with a small sensor's read noise);
//   - glare 0.4: veiling glare of 40% of full scale and a hot spot;
//   - motion blur of 5 px: 15 km/h at 1/500 s with the eyes 40 px apart.
func Moderate() []Variant {
	return []Variant{
		{Name: "windshield"},
		{Name: "eyes24", EyeDistance: 24},
		{Name: "eyes32", EyeDistance: 32},
		{Name: "eyes60", EyeDistance: 60},
		{Name: "dark", Gain: 0.35, Noise: 4},
		{Name: "glare", Glare: 0.4},
		{Name: "motion5", MotionBlur: 5},
		{Name: "jpeg50", JPEGQuality: 50},
	}
}

// Sweep are harsher levels, to find where recognition breaks.
func Sweep() []Variant {
	return []Variant{
		{Name: "eyes18", EyeDistance: 18},
		{Name: "dark0.2", Gain: 0.2, Noise: 5},
		{Name: "dark0.12", Gain: 0.12, Noise: 6},
		{Name: "glare0.6", Glare: 0.6},
		{Name: "glare0.8", Glare: 0.8},
		{Name: "motion9", MotionBlur: 9},
		{Name: "motion15", MotionBlur: 15},
		{Name: "jpeg25", JPEGQuality: 25},
		{Name: "combined", Gain: 0.35, Noise: 4, Glare: 0.3, MotionBlur: 5, EyeDistance: 32},
	}
}

// Render makes the probe frame for variant v from src (8-bit BGR) whose
// dominant face is f. seed fixes the noise and the face's place. The
// caller closes the result.
func Render(src gocv.Mat, f vision.Face, v Variant, seed int64) (gocv.Mat, error) {
	v = v.withDefaults()
	if src.Empty() || src.Type() != gocv.MatTypeCV8UC3 {
		return gocv.Mat{}, errors.New("render: want a non-empty 8-bit BGR image")
	}
	eyes := float64(f.EyeDistance())
	if eyes < 4 {
		return gocv.Mat{}, fmt.Errorf("render: face eyes %.1f px apart: no face to render", eyes)
	}
	if v.EyeDistance < 4 || v.EyeDistance > 200 || v.Gain < 0 || v.Gain > 4 || v.Glare < 0 || v.Glare > 1 ||
		v.Noise < 0 || v.MotionBlur < 0 || v.MotionBlur > 101 || v.JPEGQuality < 1 || v.JPEGQuality > 100 {
		return gocv.Mat{}, fmt.Errorf("render: variant %+v out of range", v)
	}
	rng := rand.New(rand.NewSource(seed))
	k := v.EyeDistance / eyes
	// the face with its surroundings: a square of 2.4 face boxes
	side := 2.4 * float64(max(f.Box.W(), f.Box.H()))
	cx, cy := float64(f.Box.X0+f.Box.X1)/2, float64(f.Box.Y0+f.Box.Y1)/2
	crop := image.Rect(int(cx-side/2), int(cy-side/2), int(cx+side/2), int(cy+side/2)).
		Intersect(image.Rect(0, 0, src.Cols(), src.Rows()))
	dw, dh := int(math.Round(float64(crop.Dx())*k)), int(math.Round(float64(crop.Dy())*k))
	if dw < 8 || dh < 8 || dw > FrameWidth || dh > FrameHeight {
		return gocv.Mat{}, fmt.Errorf("render: face region %dx%d at scale %.2f does not fit the frame", crop.Dx(), crop.Dy(), k)
	}
	roi := src.Region(crop)
	defer roi.Close()
	face := gocv.NewMat()
	defer face.Close()
	interp := gocv.InterpolationArea
	if k > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(roi, &face, image.Pt(dw, dh), 0, 0, interp)

	frame := gocv.NewMatWithSize(FrameHeight, FrameWidth, gocv.MatTypeCV8UC3)
	px, err := frame.DataPtrUint8()
	if err != nil {
		frame.Close()
		return gocv.Mat{}, err
	}
	cabin(px, rng)
	// the face somewhere in the driver's half of the glass
	x := int(float64(FrameWidth-dw) * (0.3 + 0.4*rng.Float64()))
	y := int(float64(FrameHeight-dh) * (0.35 + 0.3*rng.Float64()))
	dst := frame.Region(image.Rect(x, y, x+dw, y+dh))
	face.CopyTo(&dst)
	dst.Close()
	if v.MotionBlur > 1 {
		kernel := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(1/float64(v.MotionBlur), 0, 0, 0), 1, v.MotionBlur, gocv.MatTypeCV32F)
		blurred := gocv.NewMat()
		gocv.Filter2D(frame, &blurred, -1, kernel, image.Pt(-1, -1), 0, gocv.BorderReflect101)
		blurred.CopyTo(&frame) // same size and type: px stays valid
		blurred.Close()
		kernel.Close()
	}
	hot := image.Pt(x+dw/2+int(float64(dw)*(0.3+0.4*rng.Float64())), y+dh/3)
	windshieldAndSensor(px, v, hot, float64(dw)/2.4, rng)
	// MJPEG: encode at the camera's quality and decode as the lane would
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, []int{gocv.IMWriteJpegQuality, v.JPEGQuality})
	frame.Close()
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("render: jpeg: %w", err)
	}
	defer buf.Close()
	return imageio.Decode("rendered probe", buf.GetBytes())
}

// cabin paints the inside of a car seen from the front: a dark interior
// darker towards the dashboard, seat-back blocks, low-frequency blotches.
func cabin(px []byte, rng *rand.Rand) {
	base := 55 + 20*rng.Float64()
	type block struct{ x0, y0, x1, y1, v int }
	var blocks []block
	for i := 0; i < 4; i++ {
		x0 := rng.Intn(FrameWidth)
		y0 := FrameHeight/3 + rng.Intn(FrameHeight/2)
		blocks = append(blocks, block{x0, y0, x0 + 120 + rng.Intn(200), y0 + 80 + rng.Intn(160), rng.Intn(40) - 20})
	}
	for y := 0; y < FrameHeight; y++ {
		row := base * (1.1 - 0.6*float64(y)/FrameHeight)
		for x := 0; x < FrameWidth; x++ {
			v := row + 8*math.Sin(float64(x)/97+float64(y)/131)
			for _, b := range blocks {
				if x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1 {
					v += float64(b.v)
				}
			}
			o := 3 * (y*FrameWidth + x)
			px[o], px[o+1], px[o+2] = clamp8(v*1.05), clamp8(v), clamp8(v*0.95)
		}
	}
}

// windshieldAndSensor applies the glass (tint, haze, a reflection band,
// the dark frame at the top and sides), then the variant's glare, gain and
// noise, in place.
func windshieldAndSensor(px []byte, v Variant, hot image.Point, faceSide float64, rng *rand.Rand) {
	tint := [3]float64{0.92, 0.95, 0.85} // B, G, R: green-blue glass
	const haze = 12.0
	veil := 0.45 * v.Glare * 255
	contrast := 1 - 0.45*v.Glare
	hotR := 1.2 * faceSide
	for y := 0; y < FrameHeight; y++ {
		for x := 0; x < FrameWidth; x++ {
			o := 3 * (y*FrameWidth + x)
			// reflection band of the dashboard across the glass
			refl := 18 * math.Exp(-sq(float64(x-y*2)-300)/sq(260))
			edge := float64(y) < 0.04*FrameHeight || float64(x) < 0.03*FrameWidth || float64(x) > 0.97*FrameWidth
			var spot float64
			if v.Glare > 0 {
				d2 := sq(float64(x-hot.X)) + sq(float64(y-hot.Y))
				spot = 255 * v.Glare * math.Exp(-d2/(2*sq(hotR)))
			}
			for c := 0; c < 3; c++ {
				l := float64(px[o+c])*tint[c] + haze + refl
				if edge {
					l = 8
				}
				l = l*contrast + veil + spot
				l = l*v.Gain + v.Noise*rng.NormFloat64()
				px[o+c] = clamp8(l)
			}
		}
	}
}

func sq(x float64) float64 { return x * x }

func clamp8(v float64) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}
