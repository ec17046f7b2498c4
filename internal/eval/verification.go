package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/laned/laned/internal/vision"
)

// Pair is one labelled comparison of a verification list.
type Pair struct {
	A, B string // image paths, resolved against the list's folder
	Same bool
}

// maxPairsBytes bounds a pairs file.
const maxPairsBytes = 16 << 20

// LoadPairs reads a verification list: CSV with the header
// `image_a,image_b,same`, one pair a line, paths relative to the CSV's
// folder (absolute paths are kept), same 1/0 (or true/false). Errors name
// the file and line.
func LoadPairs(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pairs: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read pairs %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxPairsBytes {
		return nil, fmt.Errorf("read pairs %s: not a regular file of at most %d bytes", path, maxPairsBytes)
	}
	pairs, err := ParsePairs(io.LimitReader(f, maxPairsBytes), filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("pairs %s: %w", path, err)
	}
	return pairs, nil
}

// ParsePairs parses a verification list (see LoadPairs) from r, resolving
// relative paths against dir.
func ParsePairs(r io.Reader, dir string) ([]Pair, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("empty: want the header image_a,image_b,same")
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	if strings.TrimPrefix(head[0], "\ufeff") != "image_a" || head[1] != "image_b" || head[2] != "same" {
		return nil, fmt.Errorf("header %q, want image_a,image_b,same", strings.Join(head, ","))
	}
	var pairs []Pair
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		var same bool
		switch strings.ToLower(strings.TrimSpace(rec[2])) {
		case "1", "true":
			same = true
		case "0", "false":
		default:
			return nil, fmt.Errorf("line %d: same is %q, want 1 or 0", line, rec[2])
		}
		p := Pair{Same: same}
		for i, s := range []*string{&p.A, &p.B} {
			v := strings.TrimSpace(rec[i])
			if v == "" {
				return nil, fmt.Errorf("line %d: empty image path", line)
			}
			if !filepath.IsAbs(v) {
				v = filepath.Join(dir, v)
			}
			*s = v
		}
		pairs = append(pairs, p)
	}
	if len(pairs) == 0 {
		return nil, errors.New("no pairs after the header")
	}
	return pairs, nil
}

// VerificationResult is the summary of a verification evaluation. The JSON
// keys are fixed: tools outside the project read them.
type VerificationResult struct {
	Pairs     int     `json:"pairs"`
	Accuracy  float64 `json:"accuracy"`
	TAR       float64 `json:"tar"`
	FAR       float64 `json:"far"`
	Threshold float64 `json:"threshold"`
	FTA       float64 `json:"fta"`
	MsPerPair float64 `json:"ms_per_pair"`

	// Detail for the human report, not part of the JSON contract.
	Genuine, Impostor int       `json:"-"` // pairs of each kind
	FTAPairs          int       `json:"-"`
	Images            int       `json:"-"` // distinct images encoded
	FTAImages         []string  `json:"-"` // images with no usable face, with why
	GenuineDistances  []float32 `json:"-"` // pairs where both images were usable
	ImpostorDistances []float32 `json:"-"`
	Errors            []string  `json:"-"` // pairs decided wrongly at the threshold
	// BestThreshold is where accuracy over the usable pairs peaks, and
	// BestAccuracy that accuracy (FTA pairs counted as at the threshold).
	BestThreshold, BestAccuracy float64 `json:"-"`
}

// ProbeEncoder makes a template from an image file: the best usable face.
// An error wrapping ErrNoUsableFace is a failure to acquire; any other
// error stops the evaluation.
type ProbeEncoder interface {
	ProbeFile(path string) (vision.Embedding, error)
}

// EvaluateVerification compares every pair at threshold (Euclidean distance
// of L2-normalised templates, at or below = same person). Each distinct
// image is encoded once.
//
//   - tar: genuine pairs accepted, over all genuine pairs; far: impostor
//     pairs accepted, over all impostor pairs;
//   - accuracy: pairs decided right, over all pairs. A pair with an image
//     that has no usable face is decided "not the same" (as a lane would),
//     so it counts against tar and accuracy when genuine (generalised
//     rates, ISO/IEC 19795-1);
//   - fta: pairs with such an image, over all pairs;
//   - ms_per_pair: median over pairs of the time to encode both images
//     (decode, full pipeline) and compare them.
func EvaluateVerification(pairs []Pair, enc ProbeEncoder, threshold float64) (*VerificationResult, error) {
	if !(threshold > 0) {
		return nil, fmt.Errorf("threshold %v must be positive", threshold)
	}
	if len(pairs) == 0 {
		return nil, errors.New("no pairs")
	}
	type encoded struct {
		emb vision.Embedding // nil: failure to acquire
		dur time.Duration
	}
	cache := map[string]encoded{}
	get := func(path string) (encoded, error) {
		if e, ok := cache[path]; ok {
			return e, nil
		}
		start := time.Now()
		emb, err := enc.ProbeFile(path)
		e := encoded{emb: emb, dur: time.Since(start)}
		if err != nil {
			if !errors.Is(err, ErrNoUsableFace) {
				return e, err
			}
			e.emb = nil
		}
		cache[path] = e
		return e, nil
	}
	res := &VerificationResult{Pairs: len(pairs), Threshold: threshold}
	var times []time.Duration
	var right, accepted, falseAccepts int
	ftaSeen := map[string]bool{}
	for _, p := range pairs {
		a, err := get(p.A)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p.A, err)
		}
		b, err := get(p.B)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p.B, err)
		}
		start := time.Now()
		if p.Same {
			res.Genuine++
		} else {
			res.Impostor++
		}
		if a.emb == nil || b.emb == nil {
			res.FTAPairs++
			for _, x := range []struct {
				path string
				e    encoded
			}{{p.A, a}, {p.B, b}} {
				if x.e.emb == nil && !ftaSeen[x.path] {
					ftaSeen[x.path] = true
					res.FTAImages = append(res.FTAImages, x.path)
				}
			}
			if !p.Same {
				right++
			} else {
				res.Errors = append(res.Errors, fmt.Sprintf("%s ~ %s: same person, failure to acquire", p.A, p.B))
			}
			times = append(times, a.dur+b.dur)
			continue
		}
		d, err := Distance(a.emb, b.emb)
		if err != nil {
			return nil, fmt.Errorf("compare %s and %s: %w", p.A, p.B, err)
		}
		times = append(times, a.dur+b.dur+time.Since(start))
		match := float64(d) <= threshold
		if p.Same {
			res.GenuineDistances = append(res.GenuineDistances, d)
			if match {
				accepted++
			}
		} else {
			res.ImpostorDistances = append(res.ImpostorDistances, d)
			if match {
				falseAccepts++
			}
		}
		if match == p.Same {
			right++
		} else {
			res.Errors = append(res.Errors, fmt.Sprintf("%s ~ %s: same %v, distance %.3f", p.A, p.B, p.Same, d))
		}
	}
	res.Images = len(cache)
	n := float64(len(pairs))
	res.Accuracy = float64(right) / n
	res.FTA = float64(res.FTAPairs) / n
	if res.Genuine > 0 {
		res.TAR = float64(accepted) / float64(res.Genuine)
	}
	if res.Impostor > 0 {
		res.FAR = float64(falseAccepts) / float64(res.Impostor)
	}
	res.MsPerPair = medianMs(times)
	res.BestThreshold, res.BestAccuracy = bestThreshold(res)
	return res, nil
}

// bestThreshold sweeps the threshold over the observed distances and
// returns the one with the highest accuracy (the midpoint of the best
// interval), FTA pairs decided "not the same" whatever the threshold.
func bestThreshold(r *VerificationResult) (float64, float64) {
	type pt struct {
		d    float32
		same bool
	}
	var pts []pt
	for _, d := range r.GenuineDistances {
		pts = append(pts, pt{d, true})
	}
	for _, d := range r.ImpostorDistances {
		pts = append(pts, pt{d, false})
	}
	if len(pts) == 0 {
		return r.Threshold, r.Accuracy
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].d < pts[j].d })
	ftaRight := r.Impostor - len(r.ImpostorDistances) // FTA impostor pairs: "not the same", right
	// threshold below every distance: all usable impostors right
	right := len(r.ImpostorDistances)
	best, bestT := right, float64(pts[0].d)/2
	for i, p := range pts {
		if p.same {
			right++
		} else {
			right--
		}
		if i+1 < len(pts) && pts[i+1].d == p.d {
			continue
		}
		if right > best {
			next := float64(p.d) + 0.01
			if i+1 < len(pts) {
				next = float64(pts[i+1].d)
			}
			best, bestT = right, (float64(p.d)+next)/2
		}
	}
	return bestT, float64(best+ftaRight) / float64(r.Pairs)
}

// Distance is the Euclidean distance between the L2-normalised a and b.
func Distance(a, b vision.Embedding) (float32, error) {
	if len(a) != len(b) || len(a) == 0 {
		return 0, fmt.Errorf("templates of %d and %d values", len(a), len(b))
	}
	var na, nb, dot float64
	for i := range a {
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
		dot += float64(a[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 || math.IsNaN(na+nb+dot) || math.IsInf(na+nb+dot, 0) {
		return 0, errors.New("zero or non-finite template")
	}
	s := dot / math.Sqrt(na*nb)
	return float32(math.Sqrt(max(0, 2-2*s))), nil
}
