package config

import "math"

// Vision is the "vision:" section: what the pipeline takes today. It is
// defined here, cgo-free, so the config parses without OpenCV; the daemon
// hands its fields to package vision (a test in cmd/laned checks that the
// defaults below are the pipeline's own).
type Vision struct {
	// Engine runs the networks: onednn (default) or opencv.
	Engine string `yaml:"engine"`
	// DetectorMinFace is the smallest face side in pixels the detector
	// searches down to (tiling the frame if needed); default 36; -1: no
	// tiling.
	DetectorMinFace int     `yaml:"detector_min_face"`
	Quality         Quality `yaml:"quality"`
	// MatchThreshold is the largest Euclidean distance between normalised
	// templates that counts as a match; default 0.38.
	MatchThreshold float64 `yaml:"match_threshold"`
}

// Quality are the quality gate's thresholds; each unset one takes its own
// default (setting one never zeroes the others).
type Quality struct {
	MinEyeDistance float64 `yaml:"min_eye_distance"` // px; default 14
	MinSharpness   float64 `yaml:"min_sharpness"`    // variance of the Laplacian, 96×96 patch; default 100
	MinBrightness  float64 `yaml:"min_brightness"`   // mean gray 0–255; default 25
	MaxBrightness  float64 `yaml:"max_brightness"`   // default 235
	MaxClipped     float64 `yaml:"max_clipped"`      // share of pixels ≤5 or ≥250; default 0.4
	MaxYaw         float64 `yaml:"max_yaw"`          // degrees; default 90 (off)
}

// Defaults of the vision section (the pipeline's, see the doc of Vision).
const (
	DefaultEngine          = "onednn"
	DefaultDetectorMinFace = 36
	DefaultMatchThreshold  = 0.38
)

// DefaultQuality is the pipeline's quality.DefaultThresholds.
var DefaultQuality = Quality{MinEyeDistance: 14, MinSharpness: 100, MinBrightness: 25, MaxBrightness: 235, MaxClipped: 0.4, MaxYaw: 90}

func (v Vision) WithDefaults() Vision {
	def(&v.Engine, DefaultEngine)
	def(&v.DetectorMinFace, DefaultDetectorMinFace)
	def(&v.MatchThreshold, DefaultMatchThreshold)
	q, d := &v.Quality, DefaultQuality
	def(&q.MinEyeDistance, d.MinEyeDistance)
	def(&q.MinSharpness, d.MinSharpness)
	def(&q.MinBrightness, d.MinBrightness)
	def(&q.MaxBrightness, d.MaxBrightness)
	def(&q.MaxClipped, d.MaxClipped)
	def(&q.MaxYaw, d.MaxYaw)
	return v
}

func (v Vision) Validate() error {
	e := errs{section: "vision"}
	if v.Engine != "onednn" && v.Engine != "opencv" {
		e.bad("engine", "%q, want onednn or opencv", v.Engine)
	}
	if v.DetectorMinFace < -1 || v.DetectorMinFace == 0 || v.DetectorMinFace > 4096 {
		e.bad("detector_min_face", "%d, want 1..4096 px or -1 (no tiling)", v.DetectorMinFace)
	}
	rng := func(field string, x, lo, hi float64) {
		if math.IsNaN(x) || x < lo || x > hi {
			e.bad(field, "%v, want %v..%v", x, lo, hi)
		}
	}
	q := v.Quality
	rng("quality.min_eye_distance", q.MinEyeDistance, 1, 1000)
	rng("quality.min_sharpness", q.MinSharpness, 0, 1e6)
	rng("quality.min_brightness", q.MinBrightness, 0, 255)
	rng("quality.max_brightness", q.MaxBrightness, 0, 255)
	if q.MinBrightness >= q.MaxBrightness {
		e.bad("quality.max_brightness", "%v is not above min_brightness %v", q.MaxBrightness, q.MinBrightness)
	}
	rng("quality.max_clipped", q.MaxClipped, 0, 1)
	rng("quality.max_yaw", q.MaxYaw, 0, 90)
	rng("match_threshold", v.MatchThreshold, 0.01, 2)
	return e.err()
}
