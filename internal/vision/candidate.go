package vision

import (
	"fmt"
	"time"
)

// Verdict is the typed outcome of the quality gate for one face. The
// values other than VerdictOK are the summary schema's reasons for
// no_usable_image (package summary), so a consumer can report the verdict
// of its best attempt without translation.
type Verdict string

const (
	VerdictOK          Verdict = "ok"
	VerdictTooSmall    Verdict = "too_small"
	VerdictBlurred     Verdict = "blurred"
	VerdictTooDark     Verdict = "too_dark"
	VerdictOverexposed Verdict = "overexposed"
	VerdictBadPose     Verdict = "bad_pose"
	VerdictOccluded    Verdict = "occluded"
)

// Quality is what the quality gate measured on one face and decided.
type Quality struct {
	EyeDistance float32 `json:"eye_distance"` // px in the frame
	Sharpness   float64 `json:"sharpness"`
	Brightness  float64 `json:"brightness"` // mean gray level 0–255
	Clipped     float64 `json:"clipped"`    // share of clipped pixels
	Yaw         float64 `json:"yaw"`        // degrees
	// Score in [0,1], higher is better: the figure a consumer ranks shots
	// by. It is meant to predict matching, not looks.
	Score   float64 `json:"score"`
	Verdict Verdict `json:"verdict"`
	// Reason is a human-readable detail of a verdict other than OK.
	Reason string `json:"reason,omitempty"`
}

// Usable reports whether the face passed the gate.
func (q Quality) Usable() bool { return q.Verdict == VerdictOK }

// Chip is an aligned face image ready for the recogniser: Side×Side 8-bit
// BGR, row-major. It owns Pix. The zero Chip is "no chip".
type Chip struct {
	Side int
	Pix  []byte
}

// Empty reports the zero chip.
func (c Chip) Empty() bool { return len(c.Pix) == 0 }

// Validate reports a chip whose side and buffer disagree.
func (c Chip) Validate() error {
	if c.Side <= 0 || c.Side > 1024 || len(c.Pix) != 3*c.Side*c.Side {
		return fmt.Errorf("chip: side %d with %d bytes of BGR pixels", c.Side, len(c.Pix))
	}
	return nil
}

// Candidate is one face found in one frame, with its quality verdict and,
// when the face was alignable, its aligned chip. It carries where and when
// it was seen so that it can outlive the frame.
type Candidate struct {
	Camera  string
	Seq     uint64    // frame sequence (package frame)
	Time    time.Time // frame capture time
	Face    Face      // box and keypoints in frame pixels
	Quality Quality
	Chip    Chip // empty unless Quality.Usable()
}

// Analysis is the result of analysing one frame: every face found, best
// resolved first, and the time each stage took.
type Analysis struct {
	Camera        string
	Seq           uint64
	Time          time.Time
	Width, Height int
	Candidates    []Candidate
	Timings       AnalysisTimings
}

// AnalysisTimings are the wall times of one frame's analysis stages.
type AnalysisTimings struct {
	Detect, Quality, Align, Total time.Duration
	// Redetect is the time spent re-detecting large and border faces in a
	// padded view (part of Total, not of Detect).
	Redetect time.Duration
}
