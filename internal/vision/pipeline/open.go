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
// th.MinEyeDistance apart (a zero field: its default): 46 px by
// default. Open searches no smaller unless told to: a smaller face could
// never pass the quality gate, and looking for it costs detector passes
// (at 1920×1080, 6 tiles instead of 8 for the detector's own 36 px).
func MinFaceFor(th quality.Thresholds) int {
	th = th.WithDefaults()
	return int(math.Ceil(float64(th.MinEyeDistance) * boxPerEyeDistance))
}

// Open builds the pipeline on the models in set, verifying every model
// file against the manifest before an engine reads it. With
// opts.Detect.MinFace 0 the detector searches down to MinFaceFor(opts.Quality).
func Open(set *models.Set, opts Options) (*Pipeline, error) {
	if opts.Detect.MinFace == 0 {
		opts.Detect.MinFace = MinFaceFor(opts.Quality)
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
// templates that counts as the same person. Calibrated on the johns identity
// set (55 chips, 5 people): over all pairs, the largest genuine distance
// was 0.351 and the smallest impostor distance 0.413; 0.38 sits between
// them. (The net's raw templates have norm ≈1.45, so this is dlib's own 0.6
// on unnormalised descriptors, rescaled.) Like dlib's, the model confuses
// some look-alikes: three different people photographed together in the
// face-api samples came as close as 0.35. Recalibrate on the booth's own
// captures and gallery size before relying on FPIR.
const DefaultThreshold = 0.38
