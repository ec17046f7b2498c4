package pipeline

import (
	"errors"
	"fmt"
	"time"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/embed"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/quality"
)

// Detector finds faces in an 8-bit BGR image.
type Detector interface {
	Detect(img gocv.Mat) ([]vision.Face, error)
}

// Embedder turns an aligned 150×150 BGR chip into a template.
type Embedder interface {
	Embed(chip gocv.Mat) (vision.Embedding, error)
}

// Errors from EnrollFile and ProbeFile. Each wraps ErrNoUsableFace.
var (
	ErrNoUsableFace = errors.New("no usable face")
	ErrNoFace       = fmt.Errorf("%w: no face found", ErrNoUsableFace)
	ErrManyFaces    = fmt.Errorf("%w: more than one face", ErrNoUsableFace)
	ErrLowQuality   = fmt.Errorf("%w: face quality too low", ErrNoUsableFace)
)

// Options tunes the pipeline; the zero value is the documented default.
type Options struct {
	Detect  detect.Options
	Quality quality.Thresholds
	Embed   embed.Options // which engine runs the recogniser (Open only)
	// NoPaddedView turns off the re-detection of large and border faces
	// in a padded view (see needsView); for comparisons only.
	NoPaddedView bool
	// SmallFaceView also re-detects faces with the eyes 12–40 px apart in
	// the padded view (see smallEyes): sharper keypoints for the small
	// faces of a lane camera at a detector pass each. The lane and eval
	// capture turn it on; the one-shot commands leave it off.
	SmallFaceView bool
}

// Pipeline runs detect → quality → align → embed. It is safe for use by
// several goroutines when its Detector and Embedder are.
type Pipeline struct {
	det  Detector
	emb  Embedder
	opts Options
	// frames and chips are the per-frame and per-face Mats, reused.
	frames, chips, views matPool
	// closers are called by Close, for the stages Open created.
	closers []func() error
	closed  bool
}

// New returns a pipeline over the given stages. Close does not close them.
func New(det Detector, emb Embedder, opts Options) *Pipeline {
	return &Pipeline{det: det, emb: emb, opts: opts, frames: matPool{keep: 2}, chips: matPool{keep: 4}, views: matPool{keep: 1}}
}

// Close releases the stages Open created. It is idempotent.
func (p *Pipeline) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.frames.close()
	p.chips.close()
	p.views.close()
	var errs []error
	for _, c := range p.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Face is one face found in a frame and what became of it.
type Face struct {
	vision.Face
	Quality vision.Quality
	// Embedding is nil when the face was not usable (see Quality.Reason).
	Embedding vision.Embedding
}

// Timings are the wall times of one frame's stages.
type Timings struct {
	Detect, Redetect, Quality, Align, Embed, Total time.Duration
}

// Frame is the result for one image: faces in descending order of
// inter-eye distance (the best-resolved first).
type Frame struct {
	Faces   []Face
	Timings Timings
}

// Usable returns the faces that were embedded.
func (f *Frame) Usable() []Face {
	var out []Face
	for _, face := range f.Faces {
		if face.Embedding != nil {
			out = append(out, face)
		}
	}
	return out
}

// Process runs the whole pipeline on an 8-bit BGR image: Analyze, then
// Embed of every usable face's chip. The image is not kept. It is what the
// one-shot commands (identify, enrolment, evaluations) use; the lane
// analyses every frame and embeds only the chips it chooses.
func (p *Pipeline) Process(img gocv.Mat) (*Frame, error) {
	start := time.Now()
	an, err := p.Analyze(img)
	if err != nil {
		return nil, err
	}
	fr := &Frame{Faces: make([]Face, len(an.Candidates))}
	fr.Timings = Timings{Detect: an.Timings.Detect, Redetect: an.Timings.Redetect, Quality: an.Timings.Quality, Align: an.Timings.Align}
	var chips []vision.Chip
	var idx []int
	for i, c := range an.Candidates {
		fr.Faces[i] = Face{Face: c.Face, Quality: c.Quality}
		if c.Quality.Usable() {
			chips = append(chips, c.Chip)
			idx = append(idx, i)
		}
	}
	if len(chips) > 0 {
		t := time.Now()
		embs, err := p.Embed(chips)
		if err != nil {
			return nil, err
		}
		fr.Timings.Embed = time.Since(t)
		for k, i := range idx {
			fr.Faces[i].Embedding = embs[k]
		}
	}
	fr.Timings.Total = time.Since(start)
	return fr, nil
}

// ProcessFile loads an image file safely (see package imageio) and runs
// Process on it.
func (p *Pipeline) ProcessFile(path string) (*Frame, error) {
	img, err := imageio.Load(path)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	fr, err := p.Process(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fr, nil
}

// DominantRatio is how many times the eye distance of the second-largest
// usable face the largest must have for an enrolment photo with several
// faces to be taken as a photo of the largest (a bystander at the edge, a
// face on a poster behind): 1.5, so the dominant face covers more than
// twice the area. Below it the photo is ambiguous and refused.
const DominantRatio = 1.5

// EnrollFile returns the template of the dominant face in an enrolment
// photo: its only usable face, or the largest when it is DominantRatio
// times larger than the next. A photo with no face, with several usable
// faces none dominant, or whose faces all fail the quality check is
// refused with an error wrapping ErrNoFace, ErrManyFaces or ErrLowQuality
// that says why. Only the chosen face is embedded.
func (p *Pipeline) EnrollFile(path string) (vision.Embedding, error) {
	an, err := p.analyzeFile(path)
	if err != nil {
		return nil, err
	}
	c, err := dominant(path, an)
	if err != nil {
		return nil, err
	}
	return p.embedOne(path, c)
}

// dominant picks the enrolment face of an analysis (see EnrollFile).
func dominant(path string, an vision.Analysis) (vision.Candidate, error) {
	var usable []vision.Candidate // best resolved first, as Analyze sorts
	for _, c := range an.Candidates {
		if c.Quality.Usable() {
			usable = append(usable, c)
		}
	}
	switch {
	case len(an.Candidates) == 0:
		return vision.Candidate{}, fmt.Errorf("%s: %w", path, ErrNoFace)
	case len(usable) == 0:
		return vision.Candidate{}, fmt.Errorf("%s: %w: %s", path, ErrLowQuality, an.Candidates[0].Quality.Reason)
	case len(usable) > 1 && usable[0].Quality.EyeDistance < DominantRatio*usable[1].Quality.EyeDistance:
		return vision.Candidate{}, fmt.Errorf("%s: %w (%d usable faces, none dominant: eyes %.0f and %.0f px apart, want a ratio of %.1f)",
			path, ErrManyFaces, len(usable), usable[0].Quality.EyeDistance, usable[1].Quality.EyeDistance, DominantRatio)
	}
	return usable[0], nil
}

// ProbeFile returns the template of the best-resolved usable face in a
// probe image, or an error wrapping ErrNoFace or ErrLowQuality. Only that
// face is embedded.
func (p *Pipeline) ProbeFile(path string) (vision.Embedding, error) {
	an, err := p.analyzeFile(path)
	if err != nil {
		return nil, err
	}
	if len(an.Candidates) == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoFace)
	}
	for _, c := range an.Candidates {
		if c.Quality.Usable() {
			return p.embedOne(path, c)
		}
	}
	return nil, fmt.Errorf("%s: %w: %s", path, ErrLowQuality, an.Candidates[0].Quality.Reason)
}

// analyzeFile loads an image file safely and analyses it.
func (p *Pipeline) analyzeFile(path string) (vision.Analysis, error) {
	img, err := imageio.Load(path)
	if err != nil {
		return vision.Analysis{}, err
	}
	defer img.Close()
	an, err := p.Analyze(img)
	if err != nil {
		return vision.Analysis{}, fmt.Errorf("%s: %w", path, err)
	}
	return an, nil
}

// embedOne embeds one candidate's chip.
func (p *Pipeline) embedOne(path string, c vision.Candidate) (vision.Embedding, error) {
	embs, err := p.Embed([]vision.Chip{c.Chip})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return embs[0], nil
}
