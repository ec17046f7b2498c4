package detect

import (
	"math"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
)

// TestEnginesAgree runs both engines on the same frames — face-api's demo
// photos at native size, the 640×480 frame and the tiled 1080p frame —
// and requires the same faces: scores within 1e-3, boxes and landmarks
// within half a pixel.
func TestEnginesAgree(t *testing.T) {
	frames := map[string]func(t *testing.T) gocv.Mat{
		"640x480":   func(t *testing.T) gocv.Mat { return sampleFrame(t, 640, 480) },
		"1920x1080": func(t *testing.T) gocv.Mat { return sampleFrame(t, 1920, 1080) },
	}
	for _, name := range []string{"sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg"} {
		frames[name] = func(t *testing.T) gocv.Mat {
			img, err := imageio.Load(filepath.Join(modelDir(t), "face-api", "demo", name))
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	for _, model := range []Model{Back, Front} {
		ref := openDetector(t, Options{Model: model, Engine: vision.EngineOpenCV})
		dnn := openDetector(t, Options{Model: model, Engine: vision.EngineOneDNN})
		total := 0
		for name, frame := range frames {
			t.Run(string(model)+"/"+name, func(t *testing.T) {
				img := frame(t)
				defer img.Close()
				want, err := ref.Detect(img)
				if err != nil {
					t.Fatal(err)
				}
				got, err := dnn.Detect(img)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("onednn found %d faces, opencv %d", len(got), len(want))
				}
				total += len(got)
				for i := range got {
					g, w := got[i], want[i]
					if math.Abs(float64(g.Score-w.Score)) > 1e-3 {
						t.Errorf("face %d: score %v, opencv %v", i, g.Score, w.Score)
					}
					pts := [][2]vision.Point{{{X: g.Box.X0, Y: g.Box.Y0}, {X: w.Box.X0, Y: w.Box.Y0}}, {{X: g.Box.X1, Y: g.Box.Y1}, {X: w.Box.X1, Y: w.Box.Y1}}}
					for k := range g.Landmarks {
						pts = append(pts, [2]vision.Point{g.Landmarks[k], w.Landmarks[k]})
					}
					for _, p := range pts {
						if math.Hypot(float64(p[0].X-p[1].X), float64(p[0].Y-p[1].Y)) > 0.5 {
							t.Errorf("face %d: point %v, opencv %v", i, p[0], p[1])
						}
					}
				}
			})
		}
		if total == 0 {
			t.Errorf("%s: no faces at all: the comparison proved nothing", model)
		}
	}
}
