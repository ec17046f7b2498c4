package camera

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/blackjack/webcam"
)

// Mode is a negotiated capture mode.
type Mode struct {
	Format        Format
	Width, Height int
	FPS           float64
}

func (m Mode) String() string {
	return fmt.Sprintf("%s %dx%d@%s", m.Format, m.Width, m.Height, fmtFPS(m.FPS))
}

func fmtFPS(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%d", int(f))
	}
	return fmt.Sprintf("%.2f", f)
}

// Offers lists the modes a device offers in the formats laned decodes,
// largest first per format, for error messages and `laned check`.
func Offers(d Device) []Mode {
	var out []Mode
	formats := d.GetSupportedFormats()
	codes := make([]webcam.PixelFormat, 0, len(formats))
	for p := range formats {
		codes = append(codes, p)
	}
	sort.Slice(codes, func(i, j int) bool { return rankFormat(codes[i]) < rankFormat(codes[j]) })
	for _, p := range codes {
		f := FormatOf(p)
		for _, s := range d.GetSupportedFrameSizes(p) {
			w, h := s.MaxWidth, s.MaxHeight
			if w == 0 || h == 0 {
				continue
			}
			out = append(out, Mode{Format: f, Width: int(w), Height: int(h), FPS: maxRate(d.GetSupportedFramerates(p, w, h))})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Format != out[j].Format {
			return false
		}
		return out[i].Width*out[i].Height > out[j].Width*out[j].Height
	})
	return out
}

func rankFormat(p webcam.PixelFormat) int {
	switch p {
	case FourCCMJPEG:
		return 0
	case FourCCYUYV:
		return 1
	}
	return 2 + int(p&0xff)
}

func maxRate(rs []webcam.FrameRate) float64 {
	best := 0.0
	for _, r := range rs {
		// A frame interval num/den seconds: the fastest is min num / max den.
		if r.MinNumerator == 0 {
			continue
		}
		f := float64(r.MaxDenominator) / float64(r.MinNumerator)
		if r.StepNumerator == 0 && r.StepDenominator == 0 {
			f = float64(r.MinDenominator) / float64(r.MinNumerator)
		}
		best = math.Max(best, f)
	}
	return best
}

func sizeOK(s webcam.FrameSize, w, h uint32) bool {
	if s.StepWidth == 0 && s.StepHeight == 0 {
		return s.MinWidth == w && s.MinHeight == h || s.MaxWidth == w && s.MaxHeight == h
	}
	in := func(v, lo, hi, step uint32) bool {
		return v >= lo && v <= hi && (step == 0 || (v-lo)%step == 0)
	}
	return in(w, s.MinWidth, s.MaxWidth, s.StepWidth) && in(h, s.MinHeight, s.MaxHeight, s.StepHeight)
}

func rateOK(rs []webcam.FrameRate, fps float64) bool {
	if len(rs) == 0 {
		return true // the driver lists none: accept and read back
	}
	for _, r := range rs {
		if r.MinNumerator == 0 || r.MinDenominator == 0 {
			continue
		}
		if r.StepNumerator == 0 && r.StepDenominator == 0 {
			if math.Abs(float64(r.MinDenominator)/float64(r.MinNumerator)-fps) < 0.5 {
				return true
			}
			continue
		}
		lo := float64(r.MinDenominator) / float64(r.MaxNumerator)
		hi := float64(r.MaxDenominator) / float64(r.MinNumerator)
		if fps >= lo-0.5 && fps <= hi+0.5 {
			return true
		}
	}
	return false
}

// Choose picks the capture mode for c from what d offers: c's format, or
// MJPEG then YUYV; c's size and rate exactly. The error lists what the
// camera offers and names the key that asked for the impossible.
func Choose(d Device, c Config) (Mode, error) {
	formats := d.GetSupportedFormats()
	var want []Format
	if c.Format != "" {
		f, err := ParseFormat(c.Format)
		if err != nil {
			return Mode{}, c.errf("format", "%v", err)
		}
		want = []Format{f}
	} else {
		want = []Format{MJPEG, YUYV}
	}
	w, h := uint32(c.Width), uint32(c.Height)
	key, miss := "format", ""
	for _, f := range want {
		if _, ok := formats[f.FourCC()]; !ok {
			continue
		}
		sized := false
		for _, s := range d.GetSupportedFrameSizes(f.FourCC()) {
			if sizeOK(s, w, h) {
				sized = true
				break
			}
		}
		// The error reports why the most preferred format failed.
		if !sized {
			if miss == "" {
				key, miss = "width", fmt.Sprintf("%s %dx%d", f, w, h)
			}
			continue
		}
		if !rateOK(d.GetSupportedFramerates(f.FourCC(), w, h), c.FPS) {
			if miss == "" {
				key, miss = "fps", fmt.Sprintf("%s %dx%d@%s", f, w, h, fmtFPS(c.FPS))
			}
			continue
		}
		return Mode{Format: f, Width: c.Width, Height: c.Height, FPS: c.FPS}, nil
	}
	if miss == "" {
		names := make([]string, len(want))
		for i, f := range want {
			names[i] = string(f)
		}
		miss = strings.Join(names, " or ")
	}
	offers := Offers(d)
	parts := make([]string, 0, len(offers))
	for _, m := range offers {
		parts = append(parts, m.String())
	}
	list := strings.Join(parts, ", ")
	if list == "" {
		list = "no capture formats"
	}
	return Mode{}, c.errf(key, "offers %s; not %s", list, miss)
}
