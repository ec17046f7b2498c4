package detect

import (
	"math"
	"sort"

	"github.com/laned/laned/internal/vision"
)

// anchor layers of both BlazeFace variants, relative to the input side:
// a 16×16 grid with 2 anchors per cell, then an 8×8 grid with 6 anchors
// per cell (MediaPipe's SSD anchor options with fixed anchor size 1; the
// Unity package's Postprocess1.compute has the same layout).
var anchorLayers = [...]struct{ cells, perCell int }{{16, 2}, {8, 6}}

// numAnchors is the number of anchors over all layers (896).
const numAnchors = 16*16*2 + 8*8*6

// candidate is one decoded anchor in normalised input coordinates
// ([0,1] over the network input square) before blending.
type candidate struct {
	// cx, cy, w, h, then 6 keypoints (x, y)
	g     [16]float32
	score float32
}

func sigmoid(x float32) float32 {
	x = max(-80, min(80, x))
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// logit is the inverse of sigmoid, used to compare raw scores with a
// probability threshold without computing 896 exponentials.
func logit(p float32) float32 {
	p = max(1e-6, min(1-1e-6, p))
	return float32(math.Log(float64(p / (1 - p))))
}

// decode turns one layer's raw outputs into candidates above minScore.
// scores has one logit per anchor, boxes 16 regressors per anchor, both in
// anchor order; side is the network input side in pixels.
func decode(dst []candidate, scores, boxes []float32, side int, minScore float32) []candidate {
	minLogit := logit(minScore)
	inv := 1 / float32(side)
	i := 0
	for _, l := range anchorLayers {
		for y := 0; y < l.cells; y++ {
			for x := 0; x < l.cells; x++ {
				ax := (float32(x) + 0.5) / float32(l.cells)
				ay := (float32(y) + 0.5) / float32(l.cells)
				for a := 0; a < l.perCell; a, i = a+1, i+1 {
					if i >= len(scores) || scores[i] < minLogit {
						continue
					}
					r := boxes[i*16 : i*16+16]
					var c candidate
					c.score = sigmoid(scores[i])
					c.g[0] = ax + r[0]*inv
					c.g[1] = ay + r[1]*inv
					c.g[2] = r[2] * inv
					c.g[3] = r[3] * inv
					for k := 0; k < 6; k++ {
						c.g[4+2*k] = ax + r[4+2*k]*inv
						c.g[5+2*k] = ay + r[5+2*k]*inv
					}
					dst = append(dst, c)
				}
			}
		}
	}
	return dst
}

func (c *candidate) box() vision.Box {
	return vision.Box{
		X0: c.g[0] - c.g[2]/2, Y0: c.g[1] - c.g[3]/2,
		X1: c.g[0] + c.g[2]/2, Y1: c.g[1] + c.g[3]/2,
	}
}

// blend is MediaPipe's weighted non-maximum suppression: candidates are
// taken by descending score; every remaining candidate overlapping the best
// one by at least iou is merged into it, geometry averaged with the scores
// as weights, and the merged detection keeps the best score. Candidates
// must be in one coordinate frame (image pixels here).
func blend(cs []candidate, iou float32) []candidate {
	sort.Slice(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	used := make([]bool, len(cs))
	var out []candidate
	for i := range cs {
		if used[i] {
			continue
		}
		used[i] = true
		bi := cs[i].box()
		var acc [16]float32
		var wsum float32
		for j := i; j < len(cs); j++ {
			if j != i && (used[j] || bi.IoU(cs[j].box()) < iou) {
				continue
			}
			used[j] = true
			w := cs[j].score
			for k := range acc {
				acc[k] += cs[j].g[k] * w
			}
			wsum += w
		}
		m := candidate{score: cs[i].score}
		for k := range acc {
			m.g[k] = acc[k] / wsum
		}
		out = append(out, m)
	}
	return out
}

// toFace converts a candidate in image pixels to a vision.Face.
func (c *candidate) toFace() vision.Face {
	f := vision.Face{Box: c.box(), Score: c.score}
	for k := 0; k < vision.NumLandmarks; k++ {
		f.Landmarks[k] = vision.Point{X: c.g[4+2*k], Y: c.g[5+2*k]}
	}
	return f
}

// containedFrac is the share of a detection's area that, lying inside a
// better-scored detection (or the other way round), makes it a duplicate. Blending merges by IoU,
// which misses a small box inside a large one (IoU of a box inside one
// 1.4 times its side is 0.5, of one 1.8 times, 0.3): seen with the front
// model on sample1.jpg, a 64 px and a 111 px box on the same face.
const containedFrac = 0.6

// suppressContained drops a detection when frac of it, or of a better one,
// lies in their intersection (a box inside a box, whichever scores
// better: the front model gave the small one 0.92, the large one 0.62); ds must
// be sorted by descending score (as blend returns them).
func suppressContained(ds []candidate, frac float32) []candidate {
	out := ds[:0]
	for _, c := range ds {
		b := c.box()
		dup := false
		for _, k := range out {
			kb := k.box()
			in := vision.Box{X0: max(b.X0, kb.X0), Y0: max(b.Y0, kb.Y0), X1: min(b.X1, kb.X1), Y1: min(b.Y1, kb.Y1)}.Area()
			if in >= frac*min(b.Area(), kb.Area()) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}
