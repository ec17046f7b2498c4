package eval

import (
	"fmt"
	"sort"
	"time"

	"github.com/laned/laned/internal/vision"
)

// BoxDetector is what detection evaluation needs from a detector: the face
// boxes found in the image file at path.
type BoxDetector interface {
	DetectFile(path string) ([]vision.Box, error)
}

// DetectionResult is the summary of a detection evaluation. The JSON keys
// are fixed (see package doc).
type DetectionResult struct {
	Images    int     `json:"images"`
	Faces     int     `json:"faces"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	// FalsePositivesPerImage counts detections matched to no face (and
	// not to an ignore box), averaged over images.
	FalsePositivesPerImage float64 `json:"false_positives_per_image"`
	// MsPerImage is the mean wall time of DetectFile per image: image
	// loading and decoding included.
	MsPerImage float64 `json:"ms_per_image"`

	// Per-image detail, not part of the JSON contract.
	PerImage []ImageResult `json:"-"`
}

// ImageResult is one image's outcome.
type ImageResult struct {
	Path                   string
	Faces, Found, Detected int
	FalsePositives         int
}

// EvaluateDetection runs det on every image of ds and matches detections
// to labelled faces greedily: all (face, detection) pairs with IoU ≥ iou
// are taken in order of descending IoU, each face and detection used once.
// An error from det (a bad image) stops the evaluation: a figure computed
// without some images would be misleading.
func EvaluateDetection(ds *Dataset, det BoxDetector, iou float64) (*DetectionResult, error) {
	if !(iou > 0 && iou <= 1) {
		return nil, fmt.Errorf("iou threshold %v out of (0,1]", iou)
	}
	res := &DetectionResult{Images: len(ds.Images)}
	var found, detected, fps int
	var total time.Duration
	for _, im := range ds.Images {
		t0 := time.Now()
		boxes, err := det.DetectFile(im.Path)
		total += time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("evaluate detection: %w", err)
		}
		ir := MatchBoxes(im.Boxes, boxes, iou)
		ir.Path = im.Path
		res.PerImage = append(res.PerImage, ir)
		res.Faces += ir.Faces
		found += ir.Found
		detected += ir.Detected
		fps += ir.FalsePositives
	}
	if res.Faces > 0 {
		res.Recall = float64(found) / float64(res.Faces)
	}
	if found+fps > 0 {
		res.Precision = float64(found) / float64(found+fps)
	} else {
		res.Precision = 1
	}
	if res.Images > 0 {
		res.FalsePositivesPerImage = float64(fps) / float64(res.Images)
		res.MsPerImage = float64(total.Microseconds()) / 1000 / float64(res.Images)
	}
	return res, nil
}

// MatchBoxes matches detections to labelled boxes greedily by IoU (see
// EvaluateDetection). A detection left unmatched that overlaps an ignore
// box by at least iou is not a false positive.
func MatchBoxes(truth []LabelledBox, dets []vision.Box, iou float64) ImageResult {
	type pair struct {
		t, d int
		iou  float32
	}
	var pairs []pair
	r := ImageResult{Detected: len(dets)}
	for ti, t := range truth {
		if !t.Ignore {
			r.Faces++
		}
		for di, d := range dets {
			if v := t.Box.IoU(d); float64(v) >= iou {
				pairs = append(pairs, pair{ti, di, v})
			}
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].iou > pairs[j].iou })
	tUsed := make([]bool, len(truth))
	dUsed := make([]bool, len(dets))
	// faces first, so that an ignore box never steals a face's detection
	for _, ignorePass := range []bool{false, true} {
		for _, p := range pairs {
			if truth[p.t].Ignore != ignorePass || tUsed[p.t] || dUsed[p.d] {
				continue
			}
			tUsed[p.t], dUsed[p.d] = true, true
			if !ignorePass {
				r.Found++
			}
		}
	}
	for di := range dets {
		if !dUsed[di] {
			r.FalsePositives++
		}
	}
	return r
}
