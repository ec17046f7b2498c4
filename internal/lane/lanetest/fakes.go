package lanetest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision"
)

// Dim is the fake templates' dimension.
const Dim = 128

// IdentityVector is the deterministic unit "true template" of an identity.
func IdentityVector(id string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(id))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x6c616e65))
	v := make([]float32, Dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// FakeFace is one face the fake analyzer "detects" in a frame.
type FakeFace struct {
	Identity string
	Box      vision.Box
	Quality  vision.Quality // Score and Verdict matter
}

// Script says which faces a frame shows.
type Script func(f *frame.Frame) []FakeFace

// chipSide is the fake chips' side: small, but enough for the lane's
// appearance signature.
const chipSide = 16

// Analyzer is a scripted lane.Analyzer. A chip encodes its identity and a
// noise seed; Embed turns it into the identity's vector plus noise that
// grows as quality falls, so better shots match better. It records every
// chip and template it handed out, so a test can check they were zeroed.
type Analyzer struct {
	Script Script
	// Noise is the per-component standard deviation of a perfect shot's
	// template noise (default 0.02: cosine ≈ 0.97 to the identity).
	Noise float64
	// Cost is slept per Analyze call (inside a synctest bubble, fake time).
	Cost time.Duration
	// Fail makes Analyze fail for the frames it reports true (corrupt).
	Fail func(f *frame.Frame) bool

	mu        sync.Mutex
	ids       []string
	idIndex   map[string]uint32
	chips     [][]byte
	templates []vision.Embedding
	analysed  atomic.Int64
	embedded  atomic.Int64
	inFlight  atomic.Int32
	maxFlight atomic.Int32
}

// Analyze implements lane.Analyzer.
func (a *Analyzer) Analyze(ctx context.Context, f *frame.Frame) (vision.Analysis, error) {
	if n := a.inFlight.Add(1); n > a.maxFlight.Load() {
		a.maxFlight.Store(n)
	}
	defer a.inFlight.Add(-1)
	if a.Cost > 0 {
		time.Sleep(a.Cost)
	}
	a.analysed.Add(1)
	if a.Fail != nil && a.Fail(f) {
		return vision.Analysis{}, fmt.Errorf("fake: frame %s#%d corrupt", f.Camera, f.Seq)
	}
	out := vision.Analysis{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Width: f.Width, Height: f.Height}
	if a.Script == nil {
		return out, nil
	}
	for i, ff := range a.Script(f) {
		c := vision.Candidate{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Quality: ff.Quality}
		c.Face.Box = ff.Box
		c.Face.Score = 0.9
		w := ff.Box.W()
		c.Face.Landmarks[vision.RightEye] = vision.Point{X: ff.Box.X0 + 0.3*w, Y: ff.Box.Y0 + 0.4*ff.Box.H()}
		c.Face.Landmarks[vision.LeftEye] = vision.Point{X: ff.Box.X0 + 0.7*w, Y: ff.Box.Y0 + 0.4*ff.Box.H()}
		c.Quality.EyeDistance = 0.4 * w
		if c.Quality.Usable() {
			c.Chip = a.chip(ff, f.Seq*31+uint64(i))
		}
		out.Candidates = append(out.Candidates, c)
	}
	return out, nil
}

func (a *Analyzer) chip(ff FakeFace, seed uint64) vision.Chip {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.idIndex == nil {
		a.idIndex = map[string]uint32{}
	}
	idx, ok := a.idIndex[ff.Identity]
	if !ok {
		idx = uint32(len(a.ids))
		a.ids = append(a.ids, ff.Identity)
		a.idIndex[ff.Identity] = idx
	}
	pix := make([]byte, 3*chipSide*chipSide)
	// An identity-specific pattern (what the lane's appearance signature
	// sees), then the identity, noise seed and quality in the first bytes.
	h := fnv.New64a()
	h.Write([]byte(ff.Identity))
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	for i := range pix {
		pix[i] = byte(r.IntN(256))
	}
	binary.LittleEndian.PutUint32(pix[0:], idx+1)
	binary.LittleEndian.PutUint64(pix[4:], seed)
	binary.LittleEndian.PutUint64(pix[12:], math.Float64bits(ff.Quality.Score))
	a.chips = append(a.chips, pix)
	return vision.Chip{Side: chipSide, Pix: pix}
}

// Embed implements lane.Analyzer.
func (a *Analyzer) Embed(ctx context.Context, chips []vision.Chip) ([]vision.Embedding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]vision.Embedding, len(chips))
	for i, c := range chips {
		if len(c.Pix) < 20 {
			return nil, errors.New("fake: chip too short")
		}
		idx := binary.LittleEndian.Uint32(c.Pix[0:])
		seed := binary.LittleEndian.Uint64(c.Pix[4:])
		q := math.Float64frombits(binary.LittleEndian.Uint64(c.Pix[12:]))
		a.mu.Lock()
		if idx == 0 || int(idx) > len(a.ids) {
			a.mu.Unlock()
			return nil, fmt.Errorf("fake: chip %d is not one of mine (zeroed?)", i)
		}
		id := a.ids[idx-1]
		a.mu.Unlock()
		base := IdentityVector(id)
		noise := a.Noise
		if noise == 0 {
			noise = 0.02
		}
		noise *= 1 + 2*(1-max(0, min(q, 1)))
		r := rand.New(rand.NewPCG(seed, uint64(idx)))
		e := make(vision.Embedding, Dim)
		for j := range e {
			e[j] = base[j] + float32(noise*r.NormFloat64())
		}
		out[i] = e
	}
	a.embedded.Add(int64(len(chips)))
	a.mu.Lock()
	a.templates = append(a.templates, out...)
	a.mu.Unlock()
	return out, nil
}

// Counts returns frames analysed, templates computed and the most Analyze
// calls ever in flight at once.
func (a *Analyzer) Counts() (analysed, embedded int64, maxInFlight int32) {
	return a.analysed.Load(), a.embedded.Load(), a.maxFlight.Load()
}

// Leaked counts chips and templates handed out that still hold non-zero
// data (the lane must zero every one when its transaction ends).
func (a *Analyzer) Leaked() (chips, templates int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.chips {
		for _, b := range c {
			if b != 0 {
				chips++
				break
			}
		}
	}
	for _, t := range a.templates {
		for _, v := range t {
			if v != 0 {
				templates++
				break
			}
		}
	}
	return chips, templates
}

// Snapshot is an in-memory lane.Snapshot: exact cosine search.
type Snapshot struct {
	Ver, Model string
	Loaded     time.Time
	ids        []string
	vecs       [][]float32
	searches   atomic.Int64
}

// NewSnapshot enrols each identity with its IdentityVector.
func NewSnapshot(version string, ids ...string) *Snapshot {
	s := &Snapshot{Ver: version, Model: "fake-128"}
	for _, id := range ids {
		s.ids = append(s.ids, id)
		s.vecs = append(s.vecs, IdentityVector(id))
	}
	return s
}

func (s *Snapshot) Version() string     { return s.Ver }
func (s *Snapshot) ModelID() string     { return s.Model }
func (s *Snapshot) LoadedAt() time.Time { return s.Loaded }
func (s *Snapshot) Subjects() int       { return len(s.ids) }

// Searches counts the searches run on this snapshot.
func (s *Snapshot) Searches() int64 { return s.searches.Load() }

// Search implements lane.Snapshot.
func (s *Snapshot) Search(probe []float32, k int) ([]match.Result, error) {
	s.searches.Add(1)
	if len(probe) != Dim {
		return nil, fmt.Errorf("fake: probe of dimension %d, want %d", len(probe), Dim)
	}
	var pn float64
	for _, v := range probe {
		pn += float64(v) * float64(v)
	}
	pn = math.Sqrt(pn)
	if pn == 0 {
		return nil, errors.New("fake: zero probe")
	}
	rs := make([]match.Result, 0, len(s.ids))
	for i, v := range s.vecs {
		var d float64
		for j := range v {
			d += float64(v[j]) * float64(probe[j])
		}
		sc := float32(d / pn)
		rs = append(rs, match.Result{Subject: s.ids[i], Score: sc, Distance: float32(math.Sqrt(max(0, 2-2*float64(sc))))})
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Score != rs[j].Score {
			return rs[i].Score > rs[j].Score
		}
		return rs[i].Subject < rs[j].Subject
	})
	if len(rs) > k {
		rs = rs[:k]
	}
	return rs, nil
}

// Gallery is a swappable lane.Gallery.
type Gallery struct{ p atomic.Pointer[lane.Snapshot] }

// NewGallery starts with s.
func NewGallery(s lane.Snapshot) *Gallery {
	g := &Gallery{}
	g.Swap(s)
	return g
}

func (g *Gallery) Current() lane.Snapshot { return *g.p.Load() }
func (g *Gallery) Swap(s lane.Snapshot)   { g.p.Store(&s) }

// Sink records summaries; Fail makes Enqueue fail while it is set.
type Sink struct {
	mu   sync.Mutex
	msgs []*summary.Transaction
	raw  [][]byte
	seq  uint64
	Fail atomic.Bool
	note chan struct{}
}

// Enqueue implements lane.Sink; it checks every payload decodes.
func (s *Sink) Enqueue(ctx context.Context, kind outbox.Kind, payload []byte) (outbox.Message, error) {
	if s.Fail.Load() {
		return outbox.Message{}, fmt.Errorf("fake sink: %w", outbox.ErrStorage)
	}
	if kind != outbox.KindSummary {
		return outbox.Message{}, fmt.Errorf("fake sink: kind %v", kind)
	}
	v, err := summary.UnmarshalUnstamped(payload)
	if err != nil {
		return outbox.Message{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.msgs = append(s.msgs, v.(*summary.Transaction))
	s.raw = append(s.raw, append([]byte(nil), payload...))
	if s.note != nil {
		select {
		case s.note <- struct{}{}:
		default:
		}
	}
	return outbox.Message{Seq: s.seq, Kind: kind, Payload: payload}, nil
}

// Summaries returns the summaries received so far.
func (s *Sink) Summaries() []*summary.Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*summary.Transaction(nil), s.msgs...)
}

// Raw returns the encoded payloads received so far.
func (s *Sink) Raw() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.raw...)
}

// Events records faults.
type Events struct {
	mu     sync.Mutex
	faults []lane.Fault
}

func (e *Events) Fault(_ context.Context, f lane.Fault) {
	e.mu.Lock()
	e.faults = append(e.faults, f)
	e.mu.Unlock()
}

// Faults returns the faults recorded so far.
func (e *Events) Faults() []lane.Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]lane.Fault(nil), e.faults...)
}

// Has reports whether a fault with code was raised (active) from source.
func (e *Events) Has(source, code string) bool {
	for _, f := range e.Faults() {
		if f.Source == source && f.Code == code && f.Active {
			return true
		}
	}
	return false
}
