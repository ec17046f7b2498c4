package lane

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// Trigger modes (Config.Trigger).
const (
	TriggerLoop  = "loop"  // the arrival/departure loops; video while a loop is faulted
	TriggerVideo = "video" // the video trigger only (a lane without loops)
)

// Fusion modes (Config.Fusion).
const (
	FusionMean = "mean" // average the K templates, search once
	FusionVote = "vote" // search each template, the majority's subject wins
)

// Zone is a rectangle in fractions of the frame (0..1, origin top-left).
type Zone struct {
	X0 float64 `yaml:"x0"`
	Y0 float64 `yaml:"y0"`
	X1 float64 `yaml:"x1"`
	Y1 float64 `yaml:"y1"`
}

// CameraConfig is one camera as the lane sees it.
type CameraConfig struct {
	// Name matches frame.Frame.Camera.
	Name string `yaml:"name"`
	// Zone is the capture zone: a face whose centre lies outside it (the
	// booth officer, a pedestrian) is ignored. Zero means the whole frame.
	Zone Zone `yaml:"zone"`
	// EdgeMargin (px): a face box this close to the frame border is cut off
	// and never a best shot. Default 2.
	EdgeMargin int `yaml:"edge_margin"`
}

// Config is the lane section of laned's configuration.
type Config struct {
	// Trigger is "loop" (default) or "video".
	Trigger string `yaml:"trigger"`
	// ArrivalInput and DepartureInput name the loop inputs (defaults
	// "arrival", "departure"); the same name for both is a one-loop lane.
	ArrivalInput   string `yaml:"arrival_input"`
	DepartureInput string `yaml:"departure_input"`
	// VideoInput names the video trigger's presence signal (default "video").
	VideoInput string `yaml:"video_input"`

	Cameras []CameraConfig `yaml:"cameras"`

	// PreMargin accepts frames captured this long before the arrival
	// (default 300ms); PostMargin keeps capturing after departure (300ms).
	PreMargin  time.Duration `yaml:"pre_margin"`
	PostMargin time.Duration `yaml:"post_margin"`
	// MaxCapture bounds one vehicle's capture (default 20s).
	MaxCapture time.Duration `yaml:"max_capture"`
	// MaxPresence: a loop active longer is stuck on: fault, video fallback
	// (default 60s, more than MaxCapture).
	MaxPresence time.Duration `yaml:"max_presence"`
	// CameraStall: no frame from a camera for this long is a camera fault
	// (default 1s).
	CameraStall time.Duration `yaml:"camera_stall"`

	// Tracking: a track not seen for TrackGap ends (default 500ms); a
	// detection joins a track whose predicted box it overlaps or whose
	// centre is within TrackDistance face widths (default 1.5).
	TrackGap      time.Duration `yaml:"track_gap"`
	TrackDistance float64       `yaml:"track_distance"`
	// MinFaces: a track with no usable shot needs this many detections to
	// count as an occupant (default 2), so one spurious detection is no
	// phantom occupant.
	MinFaces int `yaml:"min_faces"`

	// BestK chips per track (default 3); a new shot replaces the worst
	// only when its score is higher by Hysteresis (default 0.03).
	BestK      int     `yaml:"best_k"`
	Hysteresis float64 `yaml:"hysteresis"`
	// EmbedBudget bounds the templates computed per track (default 5); a
	// shot better than the best embedded one by ReembedMargin (0.1) is
	// embedded during capture, the rest of the best K at the decision.
	EmbedBudget   int     `yaml:"embed_budget"`
	ReembedMargin float64 `yaml:"reembed_margin"`
	// Fusion is "mean" (default) or "vote".
	Fusion string `yaml:"fusion"`

	// MatchThreshold and UnknownThreshold are cosine scores: match at or
	// above MatchThreshold, no_match below UnknownThreshold, candidate in
	// between. Defaults 0.928 and 0.90: the Euclidean distances 0.38 (the
	// pipeline's calibrated threshold) and 0.447 of normalised templates.
	MatchThreshold   float64 `yaml:"match_threshold"`
	UnknownThreshold float64 `yaml:"unknown_threshold"`
	// MergeThreshold: two tracks whose templates are this similar are one
	// person (default 0.90).
	MergeThreshold float64 `yaml:"merge_threshold"`
	// TopCandidates in a summary (default 3, max 5).
	TopCandidates int `yaml:"top_candidates"`

	// Evidence keeps an encrypted crop of each no_match occupant for human
	// review (default off; see package lane/evidence).
	Evidence bool `yaml:"evidence"`
	// ShutdownTimeout bounds finishing the open transaction on shutdown
	// (default 2s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// WithDefaults returns c with every zero field set to its default, field by
// field (setting one never zeroes another).
func (c Config) WithDefaults() Config {
	str := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	dur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	num := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	integer := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	str(&c.Trigger, TriggerLoop)
	str(&c.ArrivalInput, "arrival")
	str(&c.DepartureInput, "departure")
	str(&c.VideoInput, "video")
	c.Cameras = append([]CameraConfig(nil), c.Cameras...)
	for i := range c.Cameras {
		cc := &c.Cameras[i]
		if cc.Zone == (Zone{}) {
			cc.Zone = Zone{0, 0, 1, 1}
		}
		integer(&cc.EdgeMargin, 2)
	}
	dur(&c.PreMargin, 300*time.Millisecond)
	dur(&c.PostMargin, 300*time.Millisecond)
	dur(&c.MaxCapture, 20*time.Second)
	dur(&c.MaxPresence, 60*time.Second)
	dur(&c.CameraStall, time.Second)
	dur(&c.TrackGap, 500*time.Millisecond)
	num(&c.TrackDistance, 1.5)
	integer(&c.MinFaces, 2)
	integer(&c.BestK, 3)
	num(&c.Hysteresis, 0.03)
	integer(&c.EmbedBudget, 5)
	num(&c.ReembedMargin, 0.1)
	str(&c.Fusion, FusionMean)
	num(&c.MatchThreshold, 0.928)
	num(&c.UnknownThreshold, 0.90)
	num(&c.MergeThreshold, 0.90)
	integer(&c.TopCandidates, 3)
	dur(&c.ShutdownTimeout, 2*time.Second)
	return c
}

var reName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks c (after WithDefaults) and names the key path of every
// bad field ("lane.cameras[1].zone: …").
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("lane.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Trigger != TriggerLoop && c.Trigger != TriggerVideo {
		bad("trigger", "%q, want loop or video", c.Trigger)
	}
	for _, v := range []struct{ k, v string }{{"arrival_input", c.ArrivalInput}, {"departure_input", c.DepartureInput}, {"video_input", c.VideoInput}} {
		if !reName.MatchString(v.v) {
			bad(v.k, "%q is not a name (letters, digits, . _ -)", v.v)
		}
	}
	if c.VideoInput == c.ArrivalInput || c.VideoInput == c.DepartureInput {
		bad("video_input", "%q is also a loop input", c.VideoInput)
	}
	if len(c.Cameras) == 0 {
		bad("cameras", "none: the lane needs at least one camera")
	}
	if len(c.Cameras) > 16 {
		bad("cameras", "%d, max 16", len(c.Cameras))
	}
	seen := map[string]bool{}
	for i, cc := range c.Cameras {
		k := fmt.Sprintf("cameras[%d]", i)
		if !reName.MatchString(cc.Name) {
			bad(k+".name", "%q is not a name", cc.Name)
		}
		if seen[cc.Name] {
			bad(k+".name", "%q appears twice", cc.Name)
		}
		seen[cc.Name] = true
		z := cc.Zone
		if !(z.X0 >= 0 && z.Y0 >= 0 && z.X1 <= 1 && z.Y1 <= 1 && z.X0 < z.X1 && z.Y0 < z.Y1) {
			bad(k+".zone", "%+v: want 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1", z)
		}
		if cc.EdgeMargin < 0 || cc.EdgeMargin > 1000 {
			bad(k+".edge_margin", "%d out of range [0, 1000]", cc.EdgeMargin)
		}
	}
	for _, d := range []struct {
		k      string
		v, max time.Duration
	}{{"pre_margin", c.PreMargin, 10 * time.Second}, {"post_margin", c.PostMargin, 10 * time.Second},
		{"max_capture", c.MaxCapture, 10 * time.Minute}, {"max_presence", c.MaxPresence, time.Hour},
		{"camera_stall", c.CameraStall, time.Minute}, {"track_gap", c.TrackGap, 10 * time.Second},
		{"shutdown_timeout", c.ShutdownTimeout, time.Minute}} {
		if d.v < 0 || d.v > d.max {
			bad(d.k, "%s out of range [0, %s]", d.v, d.max)
		}
	}
	if c.MaxPresence <= c.MaxCapture {
		bad("max_presence", "%s must exceed max_capture %s (a loop is stuck only when no capture could last that long)", c.MaxPresence, c.MaxCapture)
	}
	if c.MaxCapture <= 0 {
		bad("max_capture", "must be positive")
	}
	fl := func(k string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			bad(k, "%v out of range [%v, %v]", v, lo, hi)
		}
	}
	fl("track_distance", c.TrackDistance, 0.1, 20)
	fl("hysteresis", c.Hysteresis, 0, 1)
	fl("reembed_margin", c.ReembedMargin, 0, 1)
	fl("match_threshold", c.MatchThreshold, -1, 1)
	fl("unknown_threshold", c.UnknownThreshold, -1, 1)
	fl("merge_threshold", c.MergeThreshold, -1, 1)
	if c.UnknownThreshold > c.MatchThreshold {
		bad("unknown_threshold", "%v above match_threshold %v", c.UnknownThreshold, c.MatchThreshold)
	}
	in := func(k string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(k, "%d out of range [%d, %d]", v, lo, hi)
		}
	}
	in("min_faces", c.MinFaces, 1, 100)
	in("best_k", c.BestK, 1, 16)
	in("embed_budget", c.EmbedBudget, 1, 64)
	in("top_candidates", c.TopCandidates, 1, 5)
	if c.EmbedBudget < c.BestK {
		bad("embed_budget", "%d below best_k %d: the best shots could not all be embedded", c.EmbedBudget, c.BestK)
	}
	if c.Fusion != FusionMean && c.Fusion != FusionVote {
		bad("fusion", "%q, want mean or vote", c.Fusion)
	}
	return errors.Join(errs...)
}

func (c *Config) camera(name string) (int, bool) {
	for i := range c.Cameras {
		if c.Cameras[i].Name == name {
			return i, true
		}
	}
	return 0, false
}
