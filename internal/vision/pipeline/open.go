package pipeline

import (
	"fmt"
	"math"

	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/quality"
)

// RecogniserModel is the manifest name of the converted recognition net.
const RecogniserModel = "face_recognition.onnx"

// ModelID and Dim identify the templates this pipeline makes; galleries
// must have been built with the same.
const (
	ModelID = embed.ModelID
	Dim     = embed.Dim
)

// boxPerEyeDistance is the smallest ratio of a BlazeFace box's side to the
// face's inter-eye distance: over the 22 faces in face-api's demo photos
// it ran 1.94–2.87 (median 2.43; a profile, far higher), and
// TestBoxPerEyeDistance keeps it at or above this figure.
const boxPerEyeDistance = 1.9

// MinFaceFor is the smallest face side, in pixels, whose eyes can be
// th.MinEyeDistance apart (a zero field: its default): 27 px by default.
func MinFaceFor(th quality.Thresholds) int {
	th = th.WithDefaults()
	return int(math.Ceil(float64(th.MinEyeDistance) * boxPerEyeDistance))
}

// searchFloor is the smallest face side Open has the detector search for
// by default: 46 px, where a 1920×1080 frame takes 6 tiles (8 for 36 px).
// Faces with the eyes 14–24 px apart (boxes of ~30–58 px) are still found
// at that floor, less reliably below ~18 px: eval capture's eyes24 and
// eyes18 variants (docs/recognition.md).
const searchFloor = 46

// Open builds the pipeline on the models in set, verifying every model
// file against the manifest before an engine reads it. With
// opts.Detect.MinFace 0 the detector searches down to MinFaceFor(opts.Quality)
// but no lower than searchFloor: a smaller face could never pass the gate,
// and searching below the floor costs detector passes.
func Open(set *models.Set, opts Options) (*Pipeline, error) {
	if opts.Detect.MinFace == 0 {
		opts.Detect.MinFace = max(MinFaceFor(opts.Quality), searchFloor)
	}
	recPath, err := set.Path(RecogniserModel)
	if err != nil {
		return nil, fmt.Errorf("open face pipeline: %w", err)
	}
	det, err := detect.Open(set.Dir(), opts.Detect) // verifies its own pinned file
	if err != nil {
		return nil, fmt.Errorf("open face pipeline: %w", err)
	}
	emb, err := embed.OpenWith(recPath, opts.Embed)
	if err != nil {
		det.Close()
		return nil, fmt.Errorf("open face pipeline: %w", err)
	}
	p := New(det, emb, opts)
	p.closers = []func() error{det.Close, emb.Close}
	return p, nil
}

// DefaultThreshold is the largest Euclidean distance between L2-normalised
// templates that counts as the same person. Recalibrated after the
// padded-view fix on johns and deepface together, split by identity
// (TestThresholdCalibration; docs/recognition.md has the distributions):
// on the tuning half (8 people, 253 genuine and 2093 impostor pairs) the
// largest genuine distance is 0.373 and the smallest impostor 0.437; the
// threshold is the lowest multiple of 0.01 accepting every genuine pair
// there, 0.38, not the midpoint (0.405): in a 1:N search every subject is
// a chance of a false match, so it belongs at the genuine tail. On the
// held-out half (10 people, 162 and 919 pairs) it gives accuracy 0.9991,
// FNMR 0, FMR 0.0011 (one impostor pair at 0.366). dlib's 0.6 on raw
// descriptors is ~0.41 here and would admit 0.44% of held-out impostors.
// Sites calibrate on their own captures and gallery size and override it
// (the lane's match threshold in config; --threshold on the commands).
const DefaultThreshold = 0.38
