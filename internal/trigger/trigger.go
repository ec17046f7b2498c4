package trigger

import (
	"errors"
	"fmt"
	"strings"
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
	// Learn is the background's learning rate per frame where the
	// picture looks like background (a fiftieth of it elsewhere).
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

	w, h      int // frame size the grid was built for
	idx       []int32
	bg        []float32
	lum       []float32  // BGR samples of this frame
	gain      [3]float32 // global gain per channel
	gidx      []int32    // whole-frame grid for the exposure estimate
	gbg, glum []float32
	present   bool
	run       int
	runStart  time.Time
	learn     float32 // background rate where the sample looks like background
	slowLearn float32 // and where it does not

	mu sync.Mutex
	st Stats
}

// New validates cfg (after defaults).
func New(cfg Config) (*Trigger, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Trigger{cfg: cfg, learn: float32(cfg.Learn), slowLearn: float32(cfg.Learn) / 50}, nil
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
	// The global grid for the exposure estimate: coarse, whole frame.
	gs := max(16, 4*t.cfg.Step)
	t.gidx = t.gidx[:0]
	for y := gs / 2; y < h; y += gs {
		for x := gs / 2; x < w; x += gs {
			t.gidx = append(t.gidx, int32(3*(y*w+x)))
		}
	}
	t.w, t.h = w, h
	t.bg, t.gbg = nil, nil
	t.gain = [3]float32{1, 1, 1}
	t.lum = make([]float32, 3*len(t.idx))
	t.glum = make([]float32, 3*len(t.gidx))
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
	first := t.bg == nil
	sample(f.Pix, t.gidx, t.glum)
	sample(f.Pix, t.idx, t.lum)
	if first {
		t.gbg = append([]float32(nil), t.glum...)
		t.bg = append([]float32(nil), t.lum...)
	}
	t.estimateGain()
	thr := float32(t.cfg.Threshold)
	changed := compare(t.lum, t.bg, t.gain, thr, t.learn, t.slowLearn)
	compare(t.glum, t.gbg, t.gain, thr, t.learn, t.slowLearn)
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

// sample reads the BGR samples at idx into out (3 per sample).
func sample(pix []byte, idx []int32, out []float32) {
	for i, o := range idx {
		p := pix[o : o+3 : o+3]
		out[3*i], out[3*i+1], out[3*i+2] = float32(p[0]), float32(p[1]), float32(p[2])
	}
}

// compare counts the samples that differ from the background by more
// than thr in any channel once the global gain is applied to the
// background, and moves the (gain-free) background towards the frame:
// at rate learn where the sample looks like background, at slow where it
// does not (selective update: a vehicle entering is not learnt into the
// background in the frames before it counts as present, and an object
// left standing is absorbed only over hundreds of frames).
func compare(lum, bg []float32, gain [3]float32, thr, learn, slow float32) int {
	changed := 0
	var d [3]float32
	for i := 0; i+2 < len(lum); i += 3 {
		moved := false
		for c := 0; c < 3; c++ {
			d[c] = lum[i+c] - bg[i+c]*gain[c]
			if d[c] > thr || d[c] < -thr {
				moved = true
			}
		}
		rate := learn
		if moved {
			changed++
			rate = slow
		}
		for c := 0; c < 3; c++ {
			bg[i+c] += rate * d[c] / gain[c]
		}
	}
	return changed
}

// gainBins is the resolution of the gain histogram: ratio×gainBins.
const gainBins = 128

// estimateGain sets the picture's global gain (exposure, sensor gain,
// lights) per channel: the median ratio of frame to background over a
// coarse grid of the whole frame, counting only samples within the
// threshold of the previous gain (still background), so a vehicle —
// which covers part of the frame and moves — does not pull it. With too
// few such samples (the lights changed at once) the grid is taken whole.
func (t *Trigger) estimateGain() {
	thr := float32(t.cfg.Threshold)
	var hist [3][4 * gainBins]int32
	n := 0
	for pass := 0; pass < 2 && n < len(t.gidx)/5; pass++ {
		n = 0
		hist = [3][4 * gainBins]int32{}
		for i := 0; i+2 < len(t.glum); i += 3 {
			if pass == 0 {
				like := true
				for c := 0; c < 3; c++ {
					d := t.glum[i+c] - t.gbg[i+c]*t.gain[c]
					if d > thr || d < -thr {
						like = false
					}
				}
				if !like {
					continue
				}
			}
			n++
			for c := 0; c < 3; c++ {
				k := int(t.glum[i+c] / max(t.gbg[i+c], 8) * gainBins)
				hist[c][max(0, min(4*gainBins-1, k))]++
			}
		}
	}
	if n == 0 {
		return
	}
	for c := 0; c < 3; c++ {
		half, acc := int32(n/2), int32(0)
		for k, m := range hist[c] {
			if acc += m; acc > half {
				t.gain[c] = max(float32(k)+0.5, 1) / gainBins
				break
			}
		}
	}
}

// ValidateAll sets each trigger's Key to triggers[i], fills defaults and
// validates the set against the configured camera names: a trigger on an
// unknown camera, or two triggers with one name, is an error naming the
// key.
func ValidateAll(ts []Config, cameras []string) ([]Config, error) {
	known := map[string]bool{}
	for _, c := range cameras {
		known[c] = true
	}
	out := make([]Config, len(ts))
	var errs []error
	names := map[string]int{}
	for i, c := range ts {
		c.Key = fmt.Sprintf("triggers[%d]", i)
		c = c.WithDefaults()
		out[i] = c
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.Camera != "" && !known[c.Camera] {
			errs = append(errs, fmt.Errorf("%s.camera: trigger %q: unknown camera %q (cameras: %s)", c.Key, c.Name, c.Camera, strings.Join(cameras, ", ")))
		}
		if j, dup := names[c.Name]; dup && c.Name != "" {
			errs = append(errs, fmt.Errorf("%s.name: trigger %q: duplicate name; triggers[%d] has it", c.Key, c.Name, j))
		}
		names[c.Name] = i
	}
	return out, errors.Join(errs...)
}
