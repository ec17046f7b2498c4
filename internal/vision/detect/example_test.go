package detect_test

import (
	"fmt"
	"log"

	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/imageio"
)

// Find the faces in a photo: the image is loaded safely in Go before it
// reaches OpenCV, the detector verifies its model file before loading it.
func ExampleDetector_Detect() {
	d, err := detect.Open("models/cache", detect.Options{}) // defaults: back model, min score 0.6, faces ≥ 36 px
	if err != nil {
		log.Fatal(err) // names a missing or altered model file
	}
	defer d.Close()
	img, err := imageio.Load("photo.jpg")
	if err != nil {
		log.Fatal(err) // names the file: truncated, not an image, too large...
	}
	defer img.Close()
	faces, err := d.Detect(img)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range faces {
		fmt.Printf("face %v score %.2f, eyes %.0f px apart\n", f.Box, f.Score, f.EyeDistance())
	}
}
