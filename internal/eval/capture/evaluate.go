package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/eval"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/imageio"
)

// Pipeline is what the evaluation needs of the face pipeline
// (*pipeline.Pipeline). EnrollFile's refusals must wrap
// eval.ErrNoUsableFace (they count as failures to enrol).
type Pipeline interface {
	Analyze(img gocv.Mat) (vision.Analysis, error)
	Embed(chips []vision.Chip) ([]vision.Embedding, error)
	EnrollFile(path string) (vision.Embedding, error)
}

// Result is one variant's figures. The JSON keys are fixed: CI and tools
// outside the project read them.
type Result struct {
	Variant Variant `json:"variant"`
	Probes  int     `json:"probes"`
	Usable  float64 `json:"usable"` // probes with a usable face: 1 - fta
	Rank1   float64 `json:"rank1"`
	FNIR    float64 `json:"fnir"`
	FPIR    float64 `json:"fpir"`
	FTA     float64 `json:"fta"`
	FTE     float64 `json:"fte"`
	// Verdicts counts why probes were unusable (the best face's verdict).
	Verdicts map[vision.Verdict]int `json:"verdicts,omitempty"`
	// EDC is the error-versus-discard curve of the usable probes.
	EDC []DiscardPoint `json:"edc,omitempty"`

	Recognition *eval.RecognitionResult `json:"-"`
	Scores      []ProbeScore            `json:"-"`
}

// ProbeScore is one usable probe's quality score and whether it matched
// its own identity at the threshold: the input of an error-versus-discard
// curve.
type ProbeScore struct {
	Score   float64
	Genuine float64 // distance to its own identity's template
}

// DiscardPoint is one point of an error-versus-discard curve.
type DiscardPoint struct {
	Discarded float64 `json:"discarded"` // share of usable probes dropped, lowest score first
	FNMR      float64 `json:"fnmr"`      // of the remaining probes against their own template
}

// ErrorVersusDiscard is the FNMR at threshold of the probes left after
// discarding the given shares with the lowest quality score (ISO/IEC
// 29794-5 practice): a score that predicts matching makes it fall.
func ErrorVersusDiscard(scores []ProbeScore, threshold float64, shares []float64) []DiscardPoint {
	s := append([]ProbeScore(nil), scores...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Score < s[j].Score })
	var out []DiscardPoint
	for _, q := range shares {
		rest := s[min(len(s), int(q*float64(len(s))+0.5)):]
		if len(rest) == 0 {
			break
		}
		fn := 0
		for _, p := range rest {
			if p.Genuine > threshold {
				fn++
			}
		}
		out = append(out, DiscardPoint{Discarded: q, FNMR: float64(fn) / float64(len(rest))})
	}
	return out
}

// Options configures Evaluate.
type Options struct {
	Threshold float64
	// SaveDir, when set, receives every rendered probe as PNG (for a
	// human to look at; off by default).
	SaveDir string
}

// Evaluate runs the degraded-capture evaluation of ids for each variant:
// enrol the clean first image of each identity, probe with the rest
// rendered as the variant.
func Evaluate(ids []eval.Identity, p Pipeline, build eval.GalleryBuilder, variants []Variant, opts Options) ([]Result, error) {
	faces := &faceCache{p: p, faces: map[string]faceOrErr{}}
	var out []Result
	for _, v := range variants {
		if v.Name == "" || strings.ContainsAny(v.Name, `/\`) {
			return nil, fmt.Errorf("variant name %q", v.Name)
		}
		enc := &variantEncoder{p: p, faces: faces, v: v, save: opts.SaveDir, verdicts: map[vision.Verdict]int{}, enrolled: map[string]vision.Embedding{}}
		if opts.SaveDir != "" {
			if err := os.MkdirAll(filepath.Join(opts.SaveDir, v.Name), 0o755); err != nil {
				return nil, err
			}
		}
		rec, err := eval.EvaluateRecognition(ids, enc, build, eval.RecognitionOptions{Enroll: 1, Threshold: opts.Threshold})
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		r := Result{Variant: v.withDefaults(), Probes: rec.Probes, Usable: 1 - rec.FTA, Rank1: rec.Rank1, FNIR: rec.FNIR,
			FPIR: rec.FPIR, FTA: rec.FTA, FTE: rec.FTE, Verdicts: enc.verdicts, Recognition: rec, Scores: enc.scores}
		r.Variant.Name = v.Name
		r.EDC = ErrorVersusDiscard(enc.scores, opts.Threshold, []float64{0, 0.05, 0.1, 0.2, 0.3, 0.5})
		out = append(out, r)
	}
	return out, nil
}

type faceOrErr struct {
	face vision.Face
	err  error
}

// faceCache holds the dominant face of each clean photo, found once.
type faceCache struct {
	p     Pipeline
	mu    sync.Mutex
	faces map[string]faceOrErr
}

func (c *faceCache) get(path string, img gocv.Mat) (vision.Face, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.faces[path]; ok {
		return f.face, f.err
	}
	an, err := c.p.Analyze(img)
	var f faceOrErr
	switch {
	case err != nil:
		return vision.Face{}, err
	case len(an.Candidates) == 0:
		f.err = fmt.Errorf("%s: %w: no face in the clean photo", path, eval.ErrNoUsableFace)
	default:
		f.face = an.Candidates[0].Face // best resolved first
	}
	c.faces[path] = f
	return f.face, f.err
}

// variantEncoder enrols clean photos and probes with rendered ones.
type variantEncoder struct {
	p        Pipeline
	faces    *faceCache
	v        Variant
	save     string
	verdicts map[vision.Verdict]int
	enrolled map[string]vision.Embedding // identity folder → template
	scores   []ProbeScore
}

func (e *variantEncoder) EnrollFile(path string) (vision.Embedding, error) {
	emb, err := e.p.EnrollFile(path)
	if err == nil {
		e.enrolled[filepath.Dir(path)] = emb
	}
	return emb, err
}

func (e *variantEncoder) ProbeFile(path string) (vision.Embedding, error) {
	src, err := imageio.Load(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	f, err := e.faces.get(path, src)
	if err != nil {
		return nil, err
	}
	probe, err := Render(src, f, e.v, seedOf(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer probe.Close()
	if e.save != "" {
		out := filepath.Join(e.save, e.v.Name, strings.ReplaceAll(filepath.Base(filepath.Dir(path))+"_"+filepath.Base(path), ".", "_")+".png")
		if !gocv.IMWrite(out, probe) {
			return nil, fmt.Errorf("write %s failed", out)
		}
	}
	an, err := e.p.Analyze(probe)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", path, e.v.Name, err)
	}
	for _, c := range an.Candidates {
		if c.Quality.Usable() {
			embs, err := e.p.Embed([]vision.Chip{c.Chip})
			if err != nil {
				return nil, err
			}
			if own, ok := e.enrolled[filepath.Dir(path)]; ok {
				d, err := eval.Distance(embs[0], own)
				if err != nil {
					return nil, err
				}
				e.scores = append(e.scores, ProbeScore{Score: c.Quality.Score, Genuine: float64(d)})
			}
			return embs[0], nil
		}
	}
	why := vision.Verdict("no_face")
	if len(an.Candidates) > 0 {
		why = an.Candidates[0].Quality.Verdict
	}
	e.verdicts[why]++
	return nil, fmt.Errorf("%s (%s): %w: %s", path, e.v.Name, eval.ErrNoUsableFace, why)
}

// seedOf derives a stable seed from a path's last two elements.
func seedOf(path string) int64 {
	var h int64 = 1469598103934665603
	for _, b := range []byte(filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)) {
		h = (h ^ int64(b)) * 1099511628211
	}
	return h
}
