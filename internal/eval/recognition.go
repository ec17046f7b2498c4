package eval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/laned/laned/internal/vision"
)

// FaceEncoder is what recognition evaluation needs from the face pipeline.
// Both calls run the full pipeline on an image file (decode, detect, align,
// quality, embed). EnrollFile insists on exactly one usable face; ProbeFile
// takes the best usable face. An error wrapping ErrNoUsableFace is a failure
// to acquire; any other error stops the evaluation.
type FaceEncoder interface {
	EnrollFile(path string) (vision.Embedding, error)
	ProbeFile(path string) (vision.Embedding, error)
}

// ErrNoUsableFace marks a capture with no face good enough to compare. The
// pipeline's own sentinels wrap it.
var ErrNoUsableFace = errors.New("no usable face")

// Gallery is a 1:N searcher built from enrolled templates.
type Gallery interface {
	// Top returns the best-matching subject and its distance (Euclidean, of
	// L2-normalised templates); ok is false for an empty gallery.
	Top(probe vision.Embedding) (subject string, distance float32, ok bool, err error)
}

// GalleryBuilder builds a Gallery from subject → templates.
type GalleryBuilder func(templates map[string][]vision.Embedding) (Gallery, error)

// RecognitionResult is the summary of a recognition evaluation. The JSON
// keys are fixed: tools outside the project read them.
type RecognitionResult struct {
	Identities int     `json:"identities"`
	Probes     int     `json:"probes"`
	Rank1      float64 `json:"rank1"`
	Threshold  float64 `json:"threshold"`
	FNIR       float64 `json:"fnir"`
	FPIR       float64 `json:"fpir"`
	FTA        float64 `json:"fta"`
	// FTE is the share of enrolment images refused (no usable face, or
	// several none dominant); the evaluation goes on without them.
	FTE        float64 `json:"fte"`
	MsPerProbe float64 `json:"ms_per_probe"`

	// Detail for the human report, not part of the JSON contract.
	Enrolled          int       `json:"-"`
	FTECount          int       `json:"-"`
	EnrolFailures     []string  `json:"-"` // enrolment images refused, with why
	FTACount          int       `json:"-"`
	NonMatedSearches  int       `json:"-"`
	FalsePositives    int       `json:"-"`
	Misses            []string  `json:"-"` // mated probes missed at the threshold, with why
	GenuineDistances  []float32 `json:"-"` // mated probe → own identity's best template
	ImpostorDistances []float32 `json:"-"` // non-mated search → best other identity
}

// RecognitionOptions configures EvaluateRecognition.
type RecognitionOptions struct {
	Enroll    int     // images enrolled per identity (the first ones by name); default 1
	Threshold float64 // distance at or below which a search returns a subject
}

// Identity is one folder of a recognition data set.
type Identity struct {
	Name   string
	Images []string // sorted by name
}

var imageExt = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".webp": true}

// LoadIdentities reads a data set laid out as one folder per identity,
// images sorted by name. Hidden files and non-image files are skipped.
func LoadIdentities(dir string) ([]Identity, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read data set: %w", err)
	}
	var ids []Identity
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read identity %s: %w", e.Name(), err)
		}
		id := Identity{Name: e.Name()}
		for _, f := range files {
			if f.Type().IsRegular() && !strings.HasPrefix(f.Name(), ".") && imageExt[strings.ToLower(filepath.Ext(f.Name()))] {
				id.Images = append(id.Images, filepath.Join(dir, e.Name(), f.Name()))
			}
		}
		sort.Strings(id.Images)
		if len(id.Images) > 0 {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Name < ids[j].Name })
	if len(ids) < 2 {
		return nil, fmt.Errorf("data set %s: need at least 2 identity folders with images, found %d", dir, len(ids))
	}
	return ids, nil
}

// EvaluateRecognition enrols the first opts.Enroll images of every identity
// and searches with the rest (mated searches), then searches each
// identity's probes against a gallery without that identity (non-mated).
//
//   - rank1: mated probes whose nearest subject is their own, over all mated
//     probes (a failure to acquire counts as wrong);
//   - fnir: mated probes not returned at the threshold, or returned as
//     someone else, over all mated probes (failures to acquire included,
//     as ISO/IEC 19795-1 counts them);
//   - fpir: non-mated searches returning anyone at the threshold, over
//     non-mated searches with a usable probe;
//   - fta: probes with no usable face, over all probes;
//   - fte: enrolment images refused (an error wrapping ErrNoUsableFace),
//     over all enrolment images; the evaluation goes on without them, and
//     the probes of an identity left with no template count as mated
//     misses (fnir, rank1);
//   - ms_per_probe: median wall time of the full pipeline plus the 1:N
//     search for one probe.
func EvaluateRecognition(ids []Identity, enc FaceEncoder, build GalleryBuilder, opts RecognitionOptions) (*RecognitionResult, error) {
	if opts.Enroll <= 0 {
		opts.Enroll = 1
	}
	if !(opts.Threshold > 0) {
		return nil, fmt.Errorf("threshold %v must be positive", opts.Threshold)
	}
	res := &RecognitionResult{Identities: len(ids), Threshold: opts.Threshold}
	enrolled := map[string][]vision.Embedding{}
	for _, id := range ids {
		if len(id.Images) <= opts.Enroll {
			return nil, fmt.Errorf("identity %s has %d images: need more than --enroll %d to leave probes", id.Name, len(id.Images), opts.Enroll)
		}
		for _, p := range id.Images[:opts.Enroll] {
			emb, err := enc.EnrollFile(p)
			if errors.Is(err, ErrNoUsableFace) {
				res.FTECount++
				res.EnrolFailures = append(res.EnrolFailures, fmt.Sprintf("%s: failure to enrol: %v", p, err))
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("enrol %s: %w", p, err)
			}
			enrolled[id.Name] = append(enrolled[id.Name], emb)
			res.Enrolled++
		}
	}
	if len(enrolled) == 0 {
		return nil, fmt.Errorf("no identity could be enrolled (%d failures to enrol)", res.FTECount)
	}
	full, err := build(enrolled)
	if err != nil {
		return nil, fmt.Errorf("build gallery: %w", err)
	}
	var times []time.Duration
	var correct, hits int
	probes := map[string][]vision.Embedding{}
	for _, id := range ids {
		for _, p := range id.Images[opts.Enroll:] {
			res.Probes++
			start := time.Now()
			emb, err := enc.ProbeFile(p)
			if errors.Is(err, ErrNoUsableFace) {
				res.FTACount++
				res.Misses = append(res.Misses, fmt.Sprintf("%s: failure to acquire: %v", p, err))
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("probe %s: %w", p, err)
			}
			subj, d, ok, err := full.Top(emb)
			times = append(times, time.Since(start))
			if err != nil {
				return nil, fmt.Errorf("search %s: %w", p, err)
			}
			probes[id.Name] = append(probes[id.Name], emb)
			if !ok {
				continue
			}
			if subj == id.Name {
				correct++
			}
			switch {
			case float64(d) <= opts.Threshold && subj == id.Name:
				hits++
			case float64(d) <= opts.Threshold:
				res.Misses = append(res.Misses, fmt.Sprintf("%s: returned as %s at distance %.3f", p, subj, d))
			default:
				res.Misses = append(res.Misses, fmt.Sprintf("%s: nearest %s at distance %.3f, above the threshold", p, subj, d))
			}
		}
	}
	if res.Probes == 0 {
		return nil, errors.New("no probes")
	}
	// Genuine distances: each usable probe against its own identity only.
	for _, id := range ids {
		if len(enrolled[id.Name]) == 0 {
			continue // not enrolled: its probes were mated misses
		}
		own, err := build(map[string][]vision.Embedding{id.Name: enrolled[id.Name]})
		if err != nil {
			return nil, fmt.Errorf("build gallery of %s: %w", id.Name, err)
		}
		for _, emb := range probes[id.Name] {
			if _, d, ok, err := own.Top(emb); err == nil && ok {
				res.GenuineDistances = append(res.GenuineDistances, d)
			}
		}
	}
	// Non-mated searches: the gallery without the probe's identity.
	for _, id := range ids {
		others := map[string][]vision.Embedding{}
		for k, v := range enrolled {
			if k != id.Name {
				others[k] = v
			}
		}
		g, err := build(others)
		if err != nil {
			return nil, fmt.Errorf("build gallery without %s: %w", id.Name, err)
		}
		for _, emb := range probes[id.Name] {
			_, d, ok, err := g.Top(emb)
			if err != nil {
				return nil, fmt.Errorf("non-mated search for %s: %w", id.Name, err)
			}
			res.NonMatedSearches++
			if ok {
				res.ImpostorDistances = append(res.ImpostorDistances, d)
				if float64(d) <= opts.Threshold {
					res.FalsePositives++
				}
			}
		}
	}
	n := float64(res.Probes)
	res.Rank1 = float64(correct) / n
	res.FNIR = float64(res.Probes-hits) / n
	res.FTA = float64(res.FTACount) / n
	res.FTE = float64(res.FTECount) / float64(res.FTECount+res.Enrolled)
	if res.NonMatedSearches > 0 {
		res.FPIR = float64(res.FalsePositives) / float64(res.NonMatedSearches)
	}
	res.MsPerProbe = medianMs(times)
	return res, nil
}

func medianMs(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m.Microseconds()) / 1000
}
