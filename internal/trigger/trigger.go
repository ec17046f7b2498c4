package trigger

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/sensor"
)

// Rect is a region as fractions of the frame (0..1), so it survives a
// change of resolution.
type Rect struct {
	X float64 `yaml:"x"`
	Y float64 `yaml:"y"`
	W float64 `yaml:"w"`
	H float64 `yaml:"h"`
}

// Config is one virtual loop (triggers: [ … ] in laned's configuration).
type Config struct {
	// Name is the input name its transitions carry ("video-front").
	Name string `yaml:"name"`
	// Camera whose frames it watches.
	Camera string `yaml:"camera"`
	// Region of the frame to watch: the road surface where the vehicle
	// stops or passes, usually over the physical loop.
	Region Rect `yaml:"region"`
	// Step samples every Step-th pixel in both directions.
	Step int `yaml:"step,omitempty"`
	// Threshold is the luma difference (0-255) that marks a sample as
	// changed from the background.
	Threshold int `yaml:"threshold,omitempty"`
	// On and Off are the changed fractions of the region that make it
	// present and absent (On > Off: hysteresis).
	On  float64 `yaml:"on,omitempty"`
	Off float64 `yaml:"off,omitempty"`
	// OnFrames and OffFrames consecutive frames must agree first.
	OnFrames  int `yaml:"on_frames,omitempty"`
	OffFrames int `yaml:"off_frames,omitempty"`
	// Learn is the background's learning rate per frame while absent.
	Learn float64 `yaml:"learn,omitempty"`

	Key string `yaml:"-"` // config path for errors: triggers[0]
}

// Defaults applied by WithDefaults.
const (
	DefaultStep      = 4
	DefaultThreshold = 28
	DefaultOn        = 0.20
	DefaultOff       = 0.08
	DefaultOnFrames  = 2
	DefaultOffFrames = 4
	DefaultLearn     = 0.05
)

// WithDefaults fills each zero field that has a default.
func (c Config) WithDefaults() Config {
	if c.Step == 0 {
		c.Step = DefaultStep
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.On == 0 {
		c.On = DefaultOn
	}
	if c.Off == 0 {
		c.Off = DefaultOff
	}
	if c.OnFrames == 0 {
		c.OnFrames = DefaultOnFrames
	}
	if c.OffFrames == 0 {
		c.OffFrames = DefaultOffFrames
	}
	if c.Learn == 0 {
		c.Learn = DefaultLearn
	}
	if c.Key == "" {
		c.Key = "trigger"
	}
	if c.Region == (Rect{}) {
		c.Region = Rect{0, 0, 1, 1}
	}
	return c
}

// Validate checks c without frames; errors name the key and the camera.
func (c Config) Validate() error {
	var errs []error
	bad := func(k, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: trigger %q (camera %q) %s", c.Key, k, c.Name, c.Camera, fmt.Sprintf(format, a...)))
	}
	if c.Name == "" {
		bad("name", "needs a name")
	}
	if c.Camera == "" {
		bad("camera", "needs a camera")
	}
	r := c.Region
	if r.X < 0 || r.Y < 0 || r.W <= 0 || r.H <= 0 || r.X+r.W > 1.0001 || r.Y+r.H > 1.0001 {
		bad("region", "region %+v not inside the frame (fractions 0..1)", r)
	}
	if c.Step < 1 || c.Step > 64 {
		bad("step", "step %d out of range 1..64", c.Step)
	}
	if c.Threshold < 1 || c.Threshold > 255 {
		bad("threshold", "threshold %d out of range 1..255", c.Threshold)
	}
	if !(c.Off > 0 && c.Off < c.On && c.On < 1) {
		bad("on", "want 0 < off (%g) < on (%g) < 1", c.Off, c.On)
	}
	if c.OnFrames < 1 || c.OffFrames < 1 {
		bad("on_frames", "on_frames and off_frames must be at least 1")
	}
	if c.Learn <= 0 || c.Learn > 1 {
		bad("learn", "learn %g out of range (0, 1]", c.Learn)
	}
	return errors.Join(errs...)
}

// Stats is the trigger's snapshot.
type Stats struct {
	Present     bool
	Occupancy   float64 // changed fraction in the last frame
	Frames      uint64
	Transitions uint64
	Since       time.Time
}

// Trigger is one virtual loop. Observe is called from one goroutine (the
// camera's consumer); Stats from any.
type Trigger struct {
	cfg Config

	w, h           int // frame size the grid was built for
	idx            []int32
	bg             []float32
	lum            []float32 // BGR samples of this frame
	offset         [3]float32
	present        bool
	run            int
	runStart       time.Time
	presentLearn   float32
	absentLearn    float32
	changedSamples int

	mu sync.Mutex
	st Stats
}

// New validates cfg (after defaults).
func New(cfg Config) (*Trigger, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Trigger{cfg: cfg, absentLearn: float32(cfg.Learn), presentLearn: float32(cfg.Learn) / 50}, nil
}

// Name is the input name of the transitions.
func (t *Trigger) Name() string { return t.cfg.Name }

// Stats returns a snapshot.
func (t *Trigger) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}

func (t *Trigger) layout(w, h int) {
	r := t.cfg.Region
	x0, y0 := int(r.X*float64(w)), int(r.Y*float64(h))
	x1, y1 := min(w, int((r.X+r.W)*float64(w))), min(h, int((r.Y+r.H)*float64(h)))
	t.idx = t.idx[:0]
	for y := y0 + t.cfg.Step/2; y < y1; y += t.cfg.Step {
		for x := x0 + t.cfg.Step/2; x < x1; x += t.cfg.Step {
			t.idx = append(t.idx, int32(3*(y*w+x)))
		}
	}
	t.w, t.h = w, h
	t.bg = nil
	t.offset = [3]float32{}
	t.lum = make([]float32, 3*len(t.idx))
}

// Observe measures one frame of the trigger's camera and returns a
// transition when the region's state changed. The transition's time is
// the first frame of the run that changed it. Frames of another camera
// or malformed frames are ignored.
func (t *Trigger) Observe(f *frame.Frame) (sensor.Transition, bool) {
	if f.Camera != "" && f.Camera != t.cfg.Camera || f.Validate() != nil {
		return sensor.Transition{}, false
	}
	if f.Width != t.w || f.Height != t.h {
		t.layout(f.Width, f.Height)
	}
	if len(t.idx) == 0 {
		return sensor.Transition{}, false
	}
	// d = sample - background, per channel. offset is the picture's
	// global shift (exposure, gain, lights), estimated each frame as the
	// median d of the samples that still look like background (within
	// the threshold of the previous offset), so a vehicle covering the
	// whole region cannot pass itself off as an exposure change.
	var hist [3][511]int32
	nbg := 0
	thr := float32(t.cfg.Threshold)
	for i, o := range t.idx {
		p := f.Pix[o : o+3 : o+3]
		for c := 0; c < 3; c++ {
			t.lum[3*i+c] = float32(p[c])
		}
		if t.bg == nil {
			continue
		}
		bgLike := true
		for c := 0; c < 3; c++ {
			d := t.lum[3*i+c] - t.bg[3*i+c] - t.offset[c]
			if d > thr || d < -thr {
				bgLike = false
			}
		}
		if bgLike {
			nbg++
			for c := 0; c < 3; c++ {
				k := int(t.lum[3*i+c]-t.bg[3*i+c]) + 255
				hist[c][max(0, min(510, k))]++
			}
		}
	}
	if t.bg == nil {
		t.bg = append([]float32(nil), t.lum...)
	}
	if nbg >= len(t.idx)/10 {
		for c := 0; c < 3; c++ {
			half, acc := int32(nbg/2), int32(0)
			for k, n := range hist[c] {
				if acc += n; acc > half {
					t.offset[c] = float32(k - 255)
					break
				}
			}
		}
	}
	changed := 0
	learn := t.absentLearn
	if t.present {
		learn = t.presentLearn
	}
	for i := range t.idx {
		moved := false
		for c := 0; c < 3; c++ {
			d := t.lum[3*i+c] - t.bg[3*i+c] - t.offset[c]
			if d > thr || d < -thr {
				moved = true
			}
			t.bg[3*i+c] += learn * d
		}
		if moved {
			changed++
		}
	}
	occ := float64(changed) / float64(len(t.idx))

	var tr sensor.Transition
	emit := false
	want := t.present
	if !t.present && occ >= t.cfg.On {
		want = true
	} else if t.present && occ <= t.cfg.Off {
		want = false
	}
	if want != t.present {
		if t.run == 0 {
			t.runStart = f.Time
		}
		t.run++
		need := t.cfg.OnFrames
		if !want {
			need = t.cfg.OffFrames
		}
		if t.run >= need {
			t.present, t.run = want, 0
			tr, emit = sensor.Transition{Input: t.cfg.Name, Active: want, At: t.runStart}, true
		}
	} else {
		t.run = 0
	}
	t.mu.Lock()
	t.st.Frames++
	t.st.Occupancy, t.st.Present = occ, t.present
	if emit {
		t.st.Transitions++
		t.st.Since = tr.At
	}
	t.mu.Unlock()
	return tr, emit
}
