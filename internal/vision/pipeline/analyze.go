package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/align"
	"github.com/laned/laned/internal/vision/quality"
)

// ChipSide is the side of the aligned chips Analyze cuts and Embed takes.
const ChipSide = align.ChipSize

// chipBytes is the length of a chip's Pix.
const chipBytes = ChipSide * ChipSide * 3

// Analyze runs detect → quality → align on an 8-bit BGR image and returns
// every face found, best resolved (largest eye distance) first; each usable
// face carries its aligned chip as owned bytes. Nothing is embedded: the
// caller embeds the chips it chooses with Embed. Camera, Seq and Time are
// left zero (AnalyzeFrame fills them from the frame).
func (p *Pipeline) Analyze(img gocv.Mat) (vision.Analysis, error) {
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return vision.Analysis{}, errors.New("analyse frame: want a non-empty 8-bit BGR image")
	}
	start := time.Now()
	faces, err := p.det.Detect(img)
	if err != nil {
		return vision.Analysis{}, fmt.Errorf("detect: %w", err)
	}
	an := vision.Analysis{Width: img.Cols(), Height: img.Rows(), Candidates: make([]vision.Candidate, 0, len(faces))}
	an.Timings.Detect = time.Since(start)
	chip := p.chips.get(ChipSide, ChipSide)
	defer p.chips.put(chip)
	for _, f := range faces {
		if !p.opts.NoPaddedView && needsView(f, img.Cols(), img.Rows(), p.opts.SmallFaceView) {
			t := time.Now()
			g, ok, err := p.redetect(img, f)
			if err != nil {
				return vision.Analysis{}, err
			}
			if ok {
				f = g
			}
			an.Timings.Redetect += time.Since(t)
		}
		t := time.Now()
		rep, err := quality.Assess(img, f, p.opts.Quality)
		an.Timings.Quality += time.Since(t)
		if err != nil {
			rep = quality.Refused(f, vision.VerdictOccluded, err.Error())
		}
		c := vision.Candidate{Face: f, Quality: rep.Quality()}
		if rep.Usable {
			t = time.Now()
			if err := align.Chip(img, f, &chip); err != nil {
				c.Quality.Score, c.Quality.Verdict, c.Quality.Reason = 0, alignVerdict(err), "cannot align: "+err.Error()
			} else {
				c.Chip = vision.Chip{Side: ChipSide, Pix: chip.ToBytes()}
			}
			an.Timings.Align += time.Since(t)
		}
		an.Candidates = append(an.Candidates, c)
	}
	sort.SliceStable(an.Candidates, func(i, j int) bool {
		return an.Candidates[i].Quality.EyeDistance > an.Candidates[j].Quality.EyeDistance
	})
	an.Timings.Total = time.Since(start)
	return an, nil
}

// alignVerdict names why align.Chip refused a face that passed the gate.
func alignVerdict(err error) vision.Verdict {
	if strings.Contains(err.Error(), "too small") {
		return vision.VerdictTooSmall
	}
	return vision.VerdictBadPose
}

// AnalyzeFrame validates f, copies its pixels into a pooled Mat and runs
// Analyze on it; the analysis and its candidates carry the frame's camera,
// sequence number and capture time. f is not kept.
func (p *Pipeline) AnalyzeFrame(f *frame.Frame) (vision.Analysis, error) {
	if f == nil {
		return vision.Analysis{}, errors.New("analyse frame: nil frame")
	}
	if err := f.Validate(); err != nil {
		return vision.Analysis{}, fmt.Errorf("analyse frame: %w", err)
	}
	img := p.frames.get(f.Height, f.Width)
	defer p.frames.put(img)
	px, err := img.DataPtrUint8()
	if err != nil || len(px) != len(f.Pix) {
		return vision.Analysis{}, fmt.Errorf("analyse frame %s#%d: pooled %dx%d Mat: %v", f.Camera, f.Seq, f.Width, f.Height, err)
	}
	copy(px, f.Pix)
	an, err := p.Analyze(img)
	if err != nil {
		return vision.Analysis{}, fmt.Errorf("frame %s#%d: %w", f.Camera, f.Seq, err)
	}
	an.Camera, an.Seq, an.Time = f.Camera, f.Seq, f.Time
	for i := range an.Candidates {
		c := &an.Candidates[i]
		c.Camera, c.Seq, c.Time = f.Camera, f.Seq, f.Time
	}
	return an, nil
}

// CheckChip reports a chip Embed cannot take: not ChipSide square, or a
// buffer of the wrong length.
func CheckChip(c vision.Chip) error {
	if c.Side != ChipSide || len(c.Pix) != chipBytes {
		return fmt.Errorf("chip: side %d with %d bytes, want a %dx%d BGR chip of %d bytes", c.Side, len(c.Pix), ChipSide, ChipSide, chipBytes)
	}
	return nil
}

// Embed returns the templates of chips (as Analyze cut them), in order.
// Every chip is checked before any is embedded, so a bad one fails the
// batch without running the net.
func (p *Pipeline) Embed(chips []vision.Chip) ([]vision.Embedding, error) {
	for i, c := range chips {
		if err := CheckChip(c); err != nil {
			return nil, fmt.Errorf("embed chip %d of %d: %w", i+1, len(chips), err)
		}
	}
	if len(chips) == 0 {
		return nil, nil
	}
	m := p.chips.get(ChipSide, ChipSide)
	defer p.chips.put(m)
	px, err := m.DataPtrUint8()
	if err != nil || len(px) != chipBytes {
		return nil, fmt.Errorf("embed: pooled chip Mat: %v", err)
	}
	out := make([]vision.Embedding, len(chips))
	for i, c := range chips {
		copy(px, c.Pix)
		if out[i], err = p.emb.Embed(m); err != nil {
			return nil, fmt.Errorf("embed chip %d of %d: %w", i+1, len(chips), err)
		}
	}
	return out, nil
}
