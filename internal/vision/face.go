package vision

import (
	"fmt"
	"math"
)

// Point is a position in image pixels (origin top-left, x right, y down).
type Point struct{ X, Y float32 }

// Box is an axis-aligned rectangle in image pixels, [X0,X1) × [Y0,Y1).
type Box struct{ X0, Y0, X1, Y1 float32 }

func (b Box) W() float32 { return b.X1 - b.X0 }
func (b Box) H() float32 { return b.Y1 - b.Y0 }

// Area is zero for an empty or inverted box.
func (b Box) Area() float32 {
	if b.X1 <= b.X0 || b.Y1 <= b.Y0 {
		return 0
	}
	return (b.X1 - b.X0) * (b.Y1 - b.Y0)
}

// IoU is the intersection over union of two boxes, 0 when either is empty.
func (b Box) IoU(o Box) float32 {
	in := Box{max(b.X0, o.X0), max(b.Y0, o.Y0), min(b.X1, o.X1), min(b.Y1, o.Y1)}.Area()
	u := b.Area() + o.Area() - in
	if u <= 0 {
		return 0
	}
	return in / u
}

func (b Box) String() string {
	return fmt.Sprintf("[%.0f,%.0f %.0fx%.0f]", b.X0, b.Y0, b.W(), b.H())
}

// Landmark indexes into Face.Landmarks, in BlazeFace's order. "Right" is the
// subject's right, which appears on the left of a frontal image.
const (
	RightEye = iota
	LeftEye
	NoseTip
	Mouth
	RightEarTragion
	LeftEarTragion
	NumLandmarks
)

// Face is one detection: a box, the detector's confidence in [0,1] and six
// keypoints in image pixels.
type Face struct {
	Box       Box
	Score     float32
	Landmarks [NumLandmarks]Point
}

// EyeDistance is the distance between the eye centres in pixels, the usual
// measure of how much face resolution a capture has.
func (f Face) EyeDistance() float32 {
	dx := f.Landmarks[LeftEye].X - f.Landmarks[RightEye].X
	dy := f.Landmarks[LeftEye].Y - f.Landmarks[RightEye].Y
	return float32(math.Hypot(float64(dx), float64(dy)))
}

// Embedding is a face template: the recogniser's output vector.
type Embedding []float32
