package lane

import (
	"math"
	"sort"
	"time"

	"github.com/laned/laned/internal/vision"
)

// shot is one usable, eligible face of a track kept among its best K.
type shot struct {
	cand   vision.Candidate // owns its chip
	emb    vision.Embedding // nil until embedded
	queued bool             // waiting for an early embedding
	gone   bool             // dropped from the best K (or the track ended)
}

// track is one occupant's face seen in consecutive frames of one camera.
type track struct {
	id        int
	camera    string
	first     time.Time
	lastT     time.Time
	last      vision.Box
	vx, vy    float64   // px/s
	sig       []float32 // appearance signature of the latest usable chip
	faces     int       // detections
	usable    int       // of which passed the quality gate
	best      vision.Quality
	bestEdge  bool // the best attempt touched the frame edge
	shots     []*shot
	embedded  int
	bestEmbed float64 // highest score among embedded shots
}

// addShot keeps the best K shots by quality score. A new shot enters a full
// set only when it beats the worst by hysteresis, so the choice does not
// flap between near-equal shots. It returns the shot kept, or nil (the
// caller then zeroes the candidate's chip).
func (t *track) addShot(c vision.Candidate, k int, hysteresis float64, drop func(*shot)) *shot {
	s := &shot{cand: c}
	if len(t.shots) >= k {
		worst := t.shots[len(t.shots)-1]
		if c.Quality.Score <= worst.cand.Quality.Score+hysteresis {
			return nil
		}
		t.shots = t.shots[:len(t.shots)-1]
		drop(worst)
	}
	t.shots = append(t.shots, s)
	sort.SliceStable(t.shots, func(i, j int) bool { return t.shots[i].cand.Quality.Score > t.shots[j].cand.Quality.Score })
	return s
}

// templates returns the embeddings of the shots kept.
func (t *track) templates() []vision.Embedding {
	var out []vision.Embedding
	for _, s := range t.shots {
		if s.emb != nil {
			out = append(out, s.emb)
		}
	}
	return out
}

// signature is a coarse appearance descriptor of a chip: 8×8 block means of
// its gray levels, zero-mean and unit-norm, so tracking can tell two faces
// apart when their boxes are ambiguous. Cheap: no model involved.
func signature(c vision.Chip) []float32 {
	if c.Side < 8 || len(c.Pix) != 3*c.Side*c.Side {
		return nil
	}
	const g = 8
	var sum [g * g]float64
	var cnt [g * g]int
	for y := range c.Side {
		by := y * g / c.Side
		row := c.Pix[3*y*c.Side:]
		for x := range c.Side {
			bx := x * g / c.Side
			p := row[3*x:]
			sum[by*g+bx] += 0.114*float64(p[0]) + 0.587*float64(p[1]) + 0.299*float64(p[2])
			cnt[by*g+bx]++
		}
	}
	var mean float64
	for i := range sum {
		sum[i] /= float64(cnt[i])
		mean += sum[i]
	}
	mean /= g * g
	var norm float64
	for i := range sum {
		sum[i] -= mean
		norm += sum[i] * sum[i]
	}
	out := make([]float32, g*g)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i := range sum {
		out[i] = float32(sum[i] / norm)
	}
	return out
}

func dot(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// observation is one in-zone detection to assign.
type observation struct {
	cand vision.Candidate
	sig  []float32
	edge bool
}

// tracker assigns detections of one camera to tracks: predicted-box IoU,
// centre distance in face widths and, when both sides have a chip,
// appearance. Greedy on the best pair first.
type tracker struct {
	gap      time.Duration
	distance float64
	nextID   *int
	tracks   []*track
}

func center(b vision.Box) (float64, float64) {
	return float64(b.X0+b.X1) / 2, float64(b.Y0+b.Y1) / 2
}

// affinity scores how well o continues t at time at; ok false outside the gate.
func (tk *tracker) affinity(t *track, o observation, at time.Time) (float64, bool) {
	dt := at.Sub(t.lastT).Seconds()
	if dt < 0 || at.Sub(t.lastT) > tk.gap {
		return 0, false
	}
	dx, dy := float32(t.vx*dt), float32(t.vy*dt)
	pred := vision.Box{X0: t.last.X0 + dx, Y0: t.last.Y0 + dy, X1: t.last.X1 + dx, Y1: t.last.Y1 + dy}
	b := o.cand.Face.Box
	ratio := float64(b.W() / max(pred.W(), 1))
	if ratio < 0.5 || ratio > 2 {
		return 0, false
	}
	iou := float64(pred.IoU(b))
	pcx, pcy := center(pred)
	ocx, ocy := center(b)
	w := math.Max(float64(pred.W()+b.W())/2, 1)
	dist := math.Hypot(ocx-pcx, ocy-pcy) / w
	if iou <= 0 && dist > tk.distance {
		return 0, false
	}
	pos := 1 - math.Min(dist/tk.distance, 1)
	score := 0.5*iou + 0.5*pos
	if t.sig != nil && o.sig != nil {
		app := dot(t.sig, o.sig) // -1..1
		if app < 0 {
			return 0, false // clearly another face
		}
		score = 0.35*iou + 0.35*pos + 0.3*app
	}
	return score, true
}

// match pairs observations of one frame at time at with existing tracks,
// best pair first; unmatched observations get nil.
func (tk *tracker) match(obs []observation, at time.Time) []*track {
	type pair struct {
		o, t  int
		score float64
	}
	var pairs []pair
	for oi, o := range obs {
		for ti, t := range tk.tracks {
			if s, ok := tk.affinity(t, o, at); ok {
				pairs = append(pairs, pair{oi, ti, s})
			}
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].score > pairs[j].score })
	out := make([]*track, len(obs))
	used := make([]bool, len(tk.tracks))
	for _, p := range pairs {
		if out[p.o] != nil || used[p.t] {
			continue
		}
		out[p.o], used[p.t] = tk.tracks[p.t], true
	}
	return out
}

// assign adds the observations of one frame at time at to tracks, opening
// new tracks for the unmatched; it returns the track of each observation.
func (tk *tracker) assign(obs []observation, at time.Time) []*track {
	out := tk.match(obs, at)
	vx, vy := tk.commonVelocity(at)
	for oi, o := range obs {
		if out[oi] == nil {
			*tk.nextID++
			// The faces of one vehicle move together: a new face starts
			// with the velocity of those already tracked, so its first step
			// is not taken for the neighbour's seat.
			out[oi] = &track{id: *tk.nextID, camera: o.cand.Camera, first: at, lastT: at, last: o.cand.Face.Box, vx: vx, vy: vy}
			tk.tracks = append(tk.tracks, out[oi])
		}
	}
	tk.update(out, obs, at)
	return out
}

// commonVelocity is the mean velocity of the tracks seen at least twice and
// still alive at at (zero when there are none).
func (tk *tracker) commonVelocity(at time.Time) (float64, float64) {
	var vx, vy float64
	n := 0
	for _, t := range tk.tracks {
		if t.faces >= 2 && at.Sub(t.lastT) <= tk.gap {
			vx += t.vx
			vy += t.vy
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return vx / float64(n), vy / float64(n)
}

// update moves each matched track to its observation.
func (tk *tracker) update(tracks []*track, obs []observation, at time.Time) {
	for oi, o := range obs {
		t := tracks[oi]
		if t == nil {
			continue
		}
		if dt := at.Sub(t.lastT).Seconds(); dt > 0 {
			ocx, ocy := center(o.cand.Face.Box)
			lcx, lcy := center(t.last)
			vx, vy := (ocx-lcx)/dt, (ocy-lcy)/dt
			if t.faces == 1 && t.vx == 0 && t.vy == 0 {
				t.vx, t.vy = vx, vy
			} else {
				t.vx, t.vy = 0.5*t.vx+0.5*vx, 0.5*t.vy+0.5*vy
			}
		}
		t.last, t.lastT = o.cand.Face.Box, at
		t.faces++
		if o.sig != nil {
			t.sig = o.sig
		}
	}
}
