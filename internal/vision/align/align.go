package align

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
)

// ChipSize is the side of the chip in pixels.
const ChipSize = 150

// Template holds where the keypoints used for alignment sit in the chip,
// in BlazeFace's landmark order (right eye, left eye, nose tip, mouth), in
// chip pixels. Calibrated on ../shared/datasets/johns (55 chips, each
// shown to the detector at three scales): RMS spread of single chips
// around these means 2.9–3.2 px for the eyes, 4.4 for the nose, 2.9 for
// the mouth. TestTemplateCalibration reproduces them.
var Template = [4]vision.Point{
	{X: 46.98, Y: 47.42},  // right eye
	{X: 100.92, Y: 47.88}, // left eye
	{X: 74.57, Y: 77.17},  // nose tip
	{X: 74.01, Y: 106.03}, // mouth
}

// Similarity is the 2×3 matrix [a -b tx; b a ty] of x' = a·x − b·y + tx,
// y' = b·x + a·y + ty: scale √(a²+b²), rotation atan2(b, a).
type Similarity struct{ A, B, Tx, Ty float64 }

// Apply maps p.
func (s Similarity) Apply(p vision.Point) vision.Point {
	x, y := float64(p.X), float64(p.Y)
	return vision.Point{X: float32(s.A*x - s.B*y + s.Tx), Y: float32(s.B*x + s.A*y + s.Ty)}
}

// Scale is the transform's uniform scale factor.
func (s Similarity) Scale() float64 { return math.Hypot(s.A, s.B) }

// Estimate returns the similarity that maps src onto dst with the least
// sum of squared distances (the closed form of Umeyama's method in 2-D).
func Estimate(src, dst []vision.Point) (Similarity, error) {
	if len(src) != len(dst) || len(src) < 2 {
		return Similarity{}, fmt.Errorf("align: need ≥ 2 point pairs, got %d and %d", len(src), len(dst))
	}
	n := float64(len(src))
	var sx, sy, dx, dy float64
	for i := range src {
		sx += float64(src[i].X)
		sy += float64(src[i].Y)
		dx += float64(dst[i].X)
		dy += float64(dst[i].Y)
	}
	sx, sy, dx, dy = sx/n, sy/n, dx/n, dy/n
	var num1, num2, den float64
	for i := range src {
		px, py := float64(src[i].X)-sx, float64(src[i].Y)-sy
		qx, qy := float64(dst[i].X)-dx, float64(dst[i].Y)-dy
		num1 += px*qx + py*qy
		num2 += px*qy - py*qx
		den += px*px + py*py
	}
	if den < 1e-9 || math.IsNaN(den) || math.IsInf(den, 0) {
		return Similarity{}, errors.New("align: keypoints coincide or are not finite")
	}
	a, b := num1/den, num2/den
	return Similarity{A: a, B: b, Tx: dx - (a*sx - b*sy), Ty: dy - (b*sx + a*sy)}, nil
}

// inverse is the similarity undoing s.
func (s Similarity) inverse() Similarity {
	d := s.A*s.A + s.B*s.B
	a, b := s.A/d, -s.B/d
	return Similarity{A: a, B: b, Tx: -(a*s.Tx - b*s.Ty), Ty: -(b*s.Tx + a*s.Ty)}
}

// Transform is the similarity from f's image to the chip.
func Transform(f vision.Face) (Similarity, error) {
	src := []vision.Point{f.Landmarks[vision.RightEye], f.Landmarks[vision.LeftEye], f.Landmarks[vision.NoseTip], f.Landmarks[vision.Mouth]}
	s, err := Estimate(src, Template[:])
	if err != nil {
		return s, err
	}
	// a face a few pixels wide, or a transform that blows the chip up
	// from less than 4 px of eye distance, is no face to recognise
	if s.Scale() > float64(ChipSize)/4 {
		return s, fmt.Errorf("align: face too small (scale %.1f to the chip)", s.Scale())
	}
	return s, nil
}

// Chip writes f's 150×150 BGR chip, cut from img (8-bit BGR), into dst.
// Parts of the chip outside img are black, as in dlib's chips.
func Chip(img gocv.Mat, f vision.Face, dst *gocv.Mat) error {
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return errors.New("align: want a non-empty 8-bit BGR image")
	}
	s, err := Transform(f)
	if err != nil {
		return err
	}
	// Work on the part of img the chip covers (its corners mapped back),
	// so that the anti-alias blur below costs per face, not per frame.
	inv := s.inverse()
	var bb image.Rectangle
	for i, c := range []vision.Point{{}, {X: ChipSize}, {Y: ChipSize}, {X: ChipSize, Y: ChipSize}} {
		p := inv.Apply(c)
		r := image.Rect(int(math.Floor(float64(p.X)))-2, int(math.Floor(float64(p.Y)))-2, int(math.Ceil(float64(p.X)))+3, int(math.Ceil(float64(p.Y)))+3)
		if i == 0 {
			bb = r
		} else {
			bb = bb.Union(r)
		}
	}
	bb = bb.Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if bb.Empty() {
		return fmt.Errorf("align: face %v lies outside the %dx%d image", f.Box, img.Cols(), img.Rows())
	}
	roi := img.Region(bb)
	defer roi.Close()
	src := roi
	// Shrinking by more than 2: smooth first (warpAffine has no area
	// mode), or the chip aliases.
	if s.Scale() < 0.5 {
		blurred := gocv.NewMat()
		defer blurred.Close()
		sigma := 0.25 / s.Scale()
		gocv.GaussianBlur(roi, &blurred, image.Pt(0, 0), sigma, sigma, gocv.BorderReflect101)
		src = blurred
	}
	// the transform from the roi: shift by the roi's origin
	ox, oy := float64(bb.Min.X), float64(bb.Min.Y)
	tx := s.Tx + s.A*ox - s.B*oy
	ty := s.Ty + s.B*ox + s.A*oy
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	for i, v := range []float64{s.A, -s.B, tx, s.B, s.A, ty} {
		m.SetDoubleAt(i/3, i%3, v)
	}
	gocv.WarpAffineWithParams(src, dst, m, image.Pt(ChipSize, ChipSize), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return nil
}
