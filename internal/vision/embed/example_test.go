package embed_test

import (
	"fmt"
	"log"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision/embed"
)

// Open the converted recogniser from the verified model set and embed an
// aligned chip (align.Chip's output in the pipeline).
func Example() {
	set, err := models.OpenDefault()
	if err != nil {
		log.Fatal(err)
	}
	path, err := set.Path("face_recognition.onnx") // sha256-checked
	if err != nil {
		log.Fatal(err)
	}
	e, err := embed.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	chip := gocv.IMRead("chip.png", gocv.IMReadColor) // 150×150 BGR
	defer chip.Close()
	v, err := e.Embed(chip)
	if err != nil {
		log.Fatal(err) // e.g. a chip of the wrong size: an error, not an abort
	}
	fmt.Println(embed.ModelID, len(v))
}
