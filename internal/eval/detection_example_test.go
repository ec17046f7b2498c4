package eval_test

import (
	"fmt"
	"strings"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/vision"
)

func ExampleMatchBoxes() {
	ds, err := eval.ParseImglab(strings.NewReader(`<dataset><images>
  <image file='a.jpg'><box top='10' left='10' width='40' height='40'/><box top='100' left='10' width='40' height='40'/></image>
</images></dataset>`))
	if err != nil {
		panic(err)
	}
	detections := []vision.Box{{X0: 12, Y0: 8, X1: 54, Y1: 52}, {X0: 200, Y0: 200, X1: 240, Y1: 240}}
	r := eval.MatchBoxes(ds.Images[0].Boxes, detections, 0.4)
	fmt.Printf("faces %d found %d false positives %d\n", r.Faces, r.Found, r.FalsePositives)
	// Output: faces 2 found 1 false positives 1
}
