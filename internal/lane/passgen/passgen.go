package passgen

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Variant is a capture condition of one vehicle's pass.
type Variant string

const (
	Normal Variant = "normal"
	Glare  Variant = "glare" // sun or headlight glare on the side windows
	Blur   Variant = "blur"  // motion blur (long exposure for the speed)
	Dark   Variant = "dark"  // night: low gain, sensor noise
)

// Variants lists every variant.
func Variants() []Variant { return []Variant{Normal, Glare, Blur, Dark} }

// Person is one occupant.
type Person struct {
	ID       string      // subject id (enrolled) or a stranger's label
	Enrolled bool        // in the gallery
	Face     image.Image // the photo composed into the window
}

// Vehicle is one vehicle of a scenario.
type Vehicle struct {
	Occupants []Person // 1–4: driver, front passenger, rear left, rear right
	Variant   Variant
	// Speed in m/s (1–8; booths see 1.5–5).
	Speed float64
	// Gap is the empty lane before this vehicle: from the previous
	// vehicle's exit from view (or the scenario start) to this one's
	// entry. Negative: this one enters before the previous has left
	// (a tailgater; -2s puts it on the arrival loop while the previous is
	// still on the departure loop).
	Gap time.Duration
	// Color of the body (zero: from the seed).
	Color [3]uint8
}

// Config sets up the cameras.
type Config struct {
	Width, Height int      // default 1280×720
	FPS           int      // default 15
	Cameras       []string // default ["front"]; a second camera sees the rear row larger
	Seed          uint64
	// Start is the capture time of frame 0 (default 2026-12-01T08:00:00Z).
	Start time.Time
}

// World geometry, metres.
const (
	viewM      = 6.0 // stretch seen by a camera
	lengthM    = 4.5 // vehicle length
	arrivalM   = 1.5 // arrival loop position
	departureM = 4.5 // departure loop position
	enterM     = -0.2
)

// seat is one face position: distance behind the vehicle's front, vertical
// centre (fraction of the frame), face height (fraction) per camera index.
type seat struct {
	back float64
	y    [2]float64
	h    [2]float64
}

var seats = [4]seat{
	{back: 1.8, y: [2]float64{0.43, 0.47}, h: [2]float64{0.19, 0.12}},  // driver, near side
	{back: 2.4, y: [2]float64{0.40, 0.45}, h: [2]float64{0.13, 0.09}},  // front passenger, far side
	{back: 3.0, y: [2]float64{0.44, 0.42}, h: [2]float64{0.11, 0.19}},  // rear, near
	{back: 3.45, y: [2]float64{0.41, 0.40}, h: [2]float64{0.09, 0.13}}, // rear, far
}

// placed is a vehicle with its timeline.
type placed struct {
	Vehicle
	index int
	enter time.Duration // front at enterM
	exit  time.Duration // rear past viewM
	rng   uint64
}

// frontAt is the vehicle front's position (m) at time t.
func (p *placed) frontAt(t time.Duration) float64 {
	return enterM + p.Speed*(t-p.enter).Seconds()
}

// at returns when the front reaches position x.
func (p *placed) at(x float64) time.Duration {
	return p.enter + time.Duration((x-enterM)/p.Speed*float64(time.Second))
}

// Scenario is a generated sequence of passes.
type Scenario struct {
	cfg      Config
	vehicles []*placed
	duration time.Duration
	frames   int
	bg       [][]byte // per camera background
}

// VehicleTruth is what happened: when a vehicle arrived and left and who
// was in it.
type VehicleTruth struct {
	Index          int
	Arrive, Depart time.Duration // arrival loop on, departure loop off
	Enter, Exit    time.Duration // in view
	Occupants      []Person
	Variant        Variant
	Speed          float64
}

// Generate lays out the vehicles in time. It validates everything it is
// given.
func Generate(cfg Config, vehicles []Vehicle) (*Scenario, error) {
	if cfg.Width == 0 {
		cfg.Width = 1280
	}
	if cfg.Height == 0 {
		cfg.Height = 720
	}
	if cfg.FPS == 0 {
		cfg.FPS = 15
	}
	if len(cfg.Cameras) == 0 {
		cfg.Cameras = []string{"front"}
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	}
	var errs []error
	if cfg.Width < 64 || cfg.Height < 36 || cfg.Width > 4096 || cfg.Height > 4096 {
		errs = append(errs, fmt.Errorf("passgen: size %dx%d out of range", cfg.Width, cfg.Height))
	}
	if cfg.FPS < 1 || cfg.FPS > 120 {
		errs = append(errs, fmt.Errorf("passgen: fps %d out of range [1, 120]", cfg.FPS))
	}
	if len(cfg.Cameras) > 2 {
		errs = append(errs, fmt.Errorf("passgen: %d cameras, at most 2", len(cfg.Cameras)))
	}
	s := &Scenario{cfg: cfg}
	var cursor time.Duration // previous vehicle's exit
	for i, v := range vehicles {
		if n := len(v.Occupants); n < 1 || n > 4 {
			errs = append(errs, fmt.Errorf("passgen: vehicle %d: %d occupants, want 1–4", i, n))
		}
		for j, o := range v.Occupants {
			if o.Face == nil || o.Face.Bounds().Empty() {
				errs = append(errs, fmt.Errorf("passgen: vehicle %d occupant %d (%s): no face image", i, j, o.ID))
			}
		}
		if v.Variant == "" {
			v.Variant = Normal
		}
		if !validVariant(v.Variant) {
			errs = append(errs, fmt.Errorf("passgen: vehicle %d: unknown variant %q", i, v.Variant))
		}
		if v.Speed < 1 || v.Speed > 8 || math.IsNaN(v.Speed) {
			errs = append(errs, fmt.Errorf("passgen: vehicle %d: speed %v m/s out of range [1, 8]", i, v.Speed))
			continue
		}
		p := &placed{Vehicle: v, index: i, rng: cfg.Seed*1000003 + uint64(i)}
		p.enter = max(cursor+v.Gap, 0)
		if i > 0 {
			// Never overlapping bodies: the next front stays behind the previous rear.
			prev := s.vehicles[len(s.vehicles)-1]
			// Bodies never closer than 0.5 m: at this one's entry (prev's
			// rear 0.5 m into the view) and, for a faster vehicle, when the
			// previous leaves the view.
			if minEnter := prev.at(enterM + lengthM + 0.5); p.enter < minEnter {
				p.enter = minEnter
			}
			if p.Speed > prev.Speed {
				catch := prev.exit - time.Duration((viewM-0.5-enterM)/p.Speed*float64(time.Second))
				p.enter = max(p.enter, catch)
			}
		}
		p.exit = p.at(viewM + lengthM)
		if p.Color == ([3]uint8{}) {
			r := rand.New(rand.NewPCG(p.rng, 7))
			p.Color = [3]uint8{uint8(40 + r.IntN(180)), uint8(40 + r.IntN(180)), uint8(40 + r.IntN(180))}
		}
		s.vehicles = append(s.vehicles, p)
		cursor = p.exit
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.duration = cursor + 2*time.Second
	s.frames = int(s.duration.Seconds() * float64(cfg.FPS))
	return s, nil
}

func validVariant(v Variant) bool {
	for _, x := range Variants() {
		if v == x {
			return true
		}
	}
	return false
}

// Trail appends an empty-lane stretch of d after the last vehicle.
func (s *Scenario) Trail(d time.Duration) {
	s.duration += d
	s.frames = int(s.duration.Seconds() * float64(s.cfg.FPS))
}

// Cameras, Width, Height, FPS, Frames and Duration describe the scenario.
func (s *Scenario) Cameras() []string       { return s.cfg.Cameras }
func (s *Scenario) Size() (w, h int)        { return s.cfg.Width, s.cfg.Height }
func (s *Scenario) FPS() int                { return s.cfg.FPS }
func (s *Scenario) Frames() int             { return s.frames }
func (s *Scenario) Duration() time.Duration { return s.duration }
func (s *Scenario) Start() time.Time        { return s.cfg.Start }

// FrameTime is the capture offset of frame i: i×1000/fps ms, as the replay
// source stamps it.
func (s *Scenario) FrameTime(i int) time.Duration {
	return time.Duration(i) * time.Second / time.Duration(s.cfg.FPS)
}

// Vehicles returns the ground truth of every vehicle.
func (s *Scenario) Vehicles() []VehicleTruth {
	var out []VehicleTruth
	for _, p := range s.vehicles {
		out = append(out, VehicleTruth{Index: p.index, Arrive: p.at(arrivalM), Depart: p.at(departureM + lengthM),
			Enter: p.enter, Exit: p.exit, Occupants: p.Occupants, Variant: p.Variant, Speed: p.Speed})
	}
	return out
}

// Transition is one sensor level change (as laned record writes
// sensors.csv: t_ms,input,level).
type Transition struct {
	At     time.Duration
	Input  string // "arrival", "departure" or "video"
	Active bool
}

// Transitions returns the loops' and the video trigger's transitions in
// time order. The video trigger is on while any vehicle is in view
// (tailgaters merge into one video presence, as a real one would).
func (s *Scenario) Transitions() []Transition {
	var out []Transition
	for _, p := range s.vehicles {
		out = append(out,
			Transition{p.at(arrivalM), "arrival", true}, Transition{p.at(arrivalM + lengthM), "arrival", false},
			Transition{p.at(departureM), "departure", true}, Transition{p.at(departureM + lengthM), "departure", false})
	}
	// Video: union of in-view intervals.
	var on, off time.Duration
	open := false
	for _, p := range s.vehicles {
		in, outT := p.enter+time.Duration(0.3/p.Speed*float64(time.Second)), p.exit-time.Duration(0.3/p.Speed*float64(time.Second))
		if open && in <= off {
			off = max(off, outT)
			continue
		}
		if open {
			out = append(out, Transition{on, "video", true}, Transition{off, "video", false})
		}
		on, off, open = in, outT, true
	}
	if open {
		out = append(out, Transition{on, "video", true}, Transition{off, "video", false})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// FaceTruth is one face visible in one frame.
type FaceTruth struct {
	Vehicle, Occupant int
	Person            Person
	Box               image.Rectangle // in frame pixels, clipped to the frame
	Full              image.Rectangle // unclipped
	Variant           Variant
	// Glare is the share (0–1) of the face under the glare patch; Blur the
	// motion blur length in pixels; Gain the light level (1 normal).
	Glare float64
	Blur  int
	Gain  float64
}

// Faces returns the faces visible in camera cam's frame i, without
// rendering it.
func (s *Scenario) Faces(cam string, i int) []FaceTruth {
	ci := s.camIndex(cam)
	if ci < 0 || i < 0 || i >= s.frames {
		return nil
	}
	t := s.FrameTime(i)
	W, H := s.cfg.Width, s.cfg.Height
	pxm := float64(W) / viewM
	var out []FaceTruth
	for _, p := range s.vehicles {
		if t < p.enter || t > p.exit {
			continue
		}
		front := p.frontAt(t)
		for k, o := range p.Occupants {
			st := seats[k]
			cx := (front - st.back) * pxm
			h := st.h[ci] * float64(H)
			b := o.Face.Bounds()
			w := h * float64(b.Dx()) / float64(b.Dy())
			cy := st.y[ci] * float64(H)
			full := image.Rect(int(cx-w/2), int(cy-h/2), int(cx+w/2), int(cy+h/2))
			box := full.Intersect(image.Rect(0, 0, W, H))
			if box.Empty() {
				continue
			}
			ft := FaceTruth{Vehicle: p.index, Occupant: k, Person: o, Box: box, Full: full, Variant: p.Variant, Gain: 1}
			switch p.Variant {
			case Glare:
				ft.Glare = s.glareOver(p, ci, t, full)
			case Blur:
				ft.Blur = blurLen(p.Speed, pxm, s.cfg.FPS)
			case Dark:
				ft.Gain = 0.22
			}
			out = append(out, ft)
		}
	}
	return out
}

// blurLen is the motion blur in pixels of an exposure a third of the
// frame interval at speed v.
func blurLen(v, pxm float64, fps int) int {
	return max(3, int(v*pxm/float64(fps)/3))
}

func (s *Scenario) camIndex(cam string) int {
	for i, c := range s.cfg.Cameras {
		if c == cam {
			return i
		}
	}
	return -1
}

// glareRect is the glare patch on the windows of p at t: it slides along
// the vehicle (a reflection of a fixed light source moves relative to the
// body), covering part of the window band.
func (s *Scenario) glareRect(p *placed, ci int, t time.Duration) image.Rectangle {
	W, H := s.cfg.Width, s.cfg.Height
	// The reflection stays near a fixed place in the frame (the light is
	// fixed), a third of the way in.
	r := rand.New(rand.NewPCG(p.rng, uint64(ci)+11))
	cx := float64(W) * (0.3 + 0.4*r.Float64())
	cy := float64(H) * (0.38 + 0.06*r.Float64())
	rw, rh := float64(W)*0.16, float64(H)*0.16
	// It breathes with the vehicle's curvature passing under it.
	k := 0.8 + 0.4*math.Abs(math.Sin(t.Seconds()*3))
	rw, rh = rw*k, rh*k
	return image.Rect(int(cx-rw/2), int(cy-rh/2), int(cx+rw/2), int(cy+rh/2))
}

func (s *Scenario) glareOver(p *placed, ci int, t time.Duration, face image.Rectangle) float64 {
	g := s.glareRect(p, ci, t)
	in := g.Intersect(face)
	if in.Empty() || face.Empty() {
		return 0
	}
	return float64(in.Dx()*in.Dy()) / float64(face.Dx()*face.Dy())
}
