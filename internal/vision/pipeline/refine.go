package pipeline

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
)

// BlazeFace's keypoints contract when a face fills its input or touches
// the border of the image: on tight crops (a passport-style photo, a chip
// cut by another system) the eye distance came out ~20% short, and the
// aligned chip zoomed in. The alignment template was calibrated with the
// face at 44–128 px of the detector's 256 px input, inside the image. So a
// face that is large in the frame or near its edge is detected again in a
// padded view at that geometry: a viewSide square with the face box at
// about a third of it (viewScale), the parts beyond the image black, and
// the new keypoints mapped back to the frame (TestTightCrops).
const (
	// viewSide is the back model's input side, so a view is one detector
	// pass without tiles.
	viewSide = 256
	// viewScale is the view's side over the face box's side.
	viewScale = 3
	// largeInInput is the face side, in px of the detector's full-frame
	// input, above which a face is re-detected: the top of the range the
	// template was calibrated on.
	largeInInput = 128
	// borderMargin is how close to an image edge, in face box sides, a
	// face box may come before it is re-detected.
	borderMargin = 0.1
)

// smallEyes is the range of eye distances, px in the frame, of faces small
// enough that the detector localises their keypoints coarsely (a face near
// the resolution of the pass or tile that found it) yet large enough to
// pass the quality gate: with Options.SmallFaceView they are re-detected
// in the view too. On eval capture's eyes24 variant (johns) this took the
// FNMR of usable probes from 0.20 to 0.02; it costs a detector pass per
// such face (ProbeFile on the pascal photos, crowds of small faces: 27 →
// 113 ms), so it is for the lane, whose frames hold a few occupants.
var smallEyes = [2]float32{12, 40}

// needsView reports whether f, found in a w×h image, is re-detected in a
// padded view: large in the detector's input, or near an edge, or (with
// small) a small face.
func needsView(f vision.Face, w, h int, small bool) bool {
	side := max(f.Box.W(), f.Box.H())
	if side <= 0 {
		return false
	}
	if side*viewSide/float32(max(w, h)) > largeInInput {
		return true
	}
	if e := f.EyeDistance(); small && e >= smallEyes[0] && e < smallEyes[1] {
		return true
	}
	m := borderMargin * side
	return f.Box.X0 < m || f.Box.Y0 < m || float32(w)-f.Box.X1 < m || float32(h)-f.Box.Y1 < m
}

// redetect finds f again in a padded view of img and returns it in img's
// pixels; ok is false when the view holds no face overlapping f's place
// (then f stands).
func (p *Pipeline) redetect(img gocv.Mat, f vision.Face) (vision.Face, bool, error) {
	side := float64(max(f.Box.W(), f.Box.H()))
	s := viewScale * side
	cx, cy := float64(f.Box.X0+f.Box.X1)/2, float64(f.Box.Y0+f.Box.Y1)/2
	x0, y0 := cx-s/2, cy-s/2
	k := viewSide / s
	src := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x0+s)), int(math.Ceil(y0+s))).
		Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if src.Dx() < 2 || src.Dy() < 2 {
		return f, false, nil
	}
	ox := min(viewSide-1, max(0, int(math.Round((float64(src.Min.X)-x0)*k))))
	oy := min(viewSide-1, max(0, int(math.Round((float64(src.Min.Y)-y0)*k))))
	dw := min(viewSide-ox, max(1, int(math.Round(float64(src.Dx())*k))))
	dh := min(viewSide-oy, max(1, int(math.Round(float64(src.Dy())*k))))
	kx, ky := float64(dw)/float64(src.Dx()), float64(dh)/float64(src.Dy())

	view := p.views.get(viewSide, viewSide)
	defer p.views.put(view)
	view.SetTo(gocv.NewScalar(0, 0, 0, 0))
	roi := img.Region(src)
	defer roi.Close()
	dst := view.Region(image.Rect(ox, oy, ox+dw, oy+dh))
	defer dst.Close()
	interp := gocv.InterpolationArea
	if k > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(roi, &dst, image.Pt(dw, dh), 0, 0, interp)
	if dst.Cols() != dw || dst.Rows() != dh {
		return f, false, fmt.Errorf("padded view: resize wrote %dx%d, want %dx%d", dst.Cols(), dst.Rows(), dw, dh)
	}
	faces, err := p.det.Detect(view)
	if err != nil {
		return f, false, fmt.Errorf("detect in padded view: %w", err)
	}
	// where f should be in the view
	want := vision.Box{
		X0: float32(ox) + (f.Box.X0-float32(src.Min.X))*float32(kx), Y0: float32(oy) + (f.Box.Y0-float32(src.Min.Y))*float32(ky),
		X1: float32(ox) + (f.Box.X1-float32(src.Min.X))*float32(kx), Y1: float32(oy) + (f.Box.Y1-float32(src.Min.Y))*float32(ky),
	}
	best, bestIoU := -1, float32(0.3)
	for i, g := range faces {
		if iou := g.Box.IoU(want); iou > bestIoU {
			best, bestIoU = i, iou
		}
	}
	if best < 0 {
		return f, false, nil
	}
	back := func(q vision.Point) vision.Point {
		return vision.Point{
			X: float32(float64(src.Min.X) + (float64(q.X)-float64(ox))/kx),
			Y: float32(float64(src.Min.Y) + (float64(q.Y)-float64(oy))/ky),
		}
	}
	g := faces[best]
	out := vision.Face{Score: g.Score}
	a, b := back(vision.Point{X: g.Box.X0, Y: g.Box.Y0}), back(vision.Point{X: g.Box.X1, Y: g.Box.Y1})
	out.Box = vision.Box{X0: a.X, Y0: a.Y, X1: b.X, Y1: b.Y}
	for i, q := range g.Landmarks {
		out.Landmarks[i] = back(q)
	}
	return out, true, nil
}
