package quality_test

import (
	"fmt"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/quality"
)

func ExampleYaw() {
	var f vision.Face
	f.Landmarks[vision.RightEye] = vision.Point{X: 80, Y: 100}
	f.Landmarks[vision.LeftEye] = vision.Point{X: 120, Y: 100}
	f.Landmarks[vision.RightEarTragion] = vision.Point{X: 50, Y: 110}
	f.Landmarks[vision.LeftEarTragion] = vision.Point{X: 150, Y: 110}
	f.Landmarks[vision.NoseTip] = vision.Point{X: 100, Y: 120}
	fmt.Printf("frontal %.0f°\n", quality.Yaw(f))
	f.Landmarks[vision.NoseTip].X = 125 // halfway to the left ear
	fmt.Printf("turned %.0f°\n", quality.Yaw(f))
	// Output:
	// frontal 0°
	// turned 30°
}
