package align_test

import (
	"fmt"
	"math"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/align"
)

// The transform from a face's keypoints to the chip: a face twice the
// chip's scale, turned by 10°, maps back with scale 0.5 and rotation −10°.
func ExampleTransform() {
	s, c := math.Sincos(10 * math.Pi / 180)
	var f vision.Face
	for i, p := range align.Template {
		x, y := float64(p.X)*2, float64(p.Y)*2
		f.Landmarks[i] = vision.Point{X: float32(c*x - s*y + 400), Y: float32(s*x + c*y + 100)}
	}
	t, err := align.Transform(f)
	if err != nil {
		panic(err)
	}
	fmt.Printf("scale %.2f rotation %.1f°\n", t.Scale(), math.Atan2(t.B, t.A)*180/math.Pi)
	// Output: scale 0.50 rotation -10.0°
}
