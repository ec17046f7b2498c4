package passgen

import (
	"image"
	"image/color"
	"math/rand/v2"
	"sync"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/laned/laned/internal/frame"
)

// scaled caches faces scaled to a size (the same few sizes recur).
var scaled sync.Map // key scaledKey → *image.RGBA

type scaledKey struct {
	img  image.Image
	w, h int
}

func scaleFace(img image.Image, w, h int) *image.RGBA {
	k := scaledKey{img, w, h}
	if v, ok := scaled.Load(k); ok {
		return v.(*image.RGBA)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	scaled.Store(k, dst)
	return dst
}

// background draws the empty lane as camera ci sees it: sky/booth wall,
// road with a lane marking, a kerb. BGR.
func (s *Scenario) background(ci int) []byte {
	W, H := s.cfg.Width, s.cfg.Height
	pix := make([]byte, 3*W*H)
	r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(ci)+101))
	for y := range H {
		var c [3]float64
		f := float64(y) / float64(H)
		switch {
		case f < 0.25: // wall of the opposite booth
			c = [3]float64{150 - 40*f, 150 - 30*f, 140}
		case f < 0.8: // background traffic area
			c = [3]float64{105, 110, 112}
		default: // road
			c = [3]float64{70, 72, 74}
		}
		row := pix[3*y*W:]
		for x := range W {
			n := r.Float64()*8 - 4
			row[3*x] = clamp(c[0] + n)
			row[3*x+1] = clamp(c[1] + n)
			row[3*x+2] = clamp(c[2] + n)
		}
	}
	// lane marking
	for y := int(0.9 * float64(H)); y < int(0.92*float64(H)); y++ {
		for x := range W {
			if (x/40)%2 == 0 {
				i := 3 * (y*W + x)
				pix[i], pix[i+1], pix[i+2] = 220, 225, 230
			}
		}
	}
	return pix
}

func clamp(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v + 0.5)
}

// Render draws camera cam's frame i (Seq i+1, capture time Start+i/fps).
// It is deterministic and safe for concurrent use.
func (s *Scenario) Render(cam string, i int) *frame.Frame {
	ci := s.camIndex(cam)
	if ci < 0 || i < 0 || i >= s.frames {
		return nil
	}
	W, H := s.cfg.Width, s.cfg.Height
	s.bgOnce(ci)
	pix := make([]byte, 3*W*H)
	copy(pix, s.bg[ci])
	img := &bgr{pix: pix, w: W, h: H}
	t := s.FrameTime(i)
	pxm := float64(W) / viewM
	faces := s.Faces(cam, i)
	for _, p := range s.vehicles {
		if t < p.enter || t > p.exit {
			continue
		}
		front := p.frontAt(t)
		x0, x1 := int((front-lengthM)*pxm), int(front*pxm)
		body := image.Rect(x0, int(0.28*float64(H)), x1, int(0.86*float64(H)))
		img.fill(body, p.Color[0], p.Color[1], p.Color[2])
		// side windows: a dark band with pillars
		win := image.Rect(int((front-3.7)*pxm), int(0.31*float64(H)), int((front-1.3)*pxm), int(0.58*float64(H)))
		img.fill(win, 38, 36, 34)
		for _, pm := range []float64{1.3, 2.5, 3.7} {
			px := int((front - pm) * pxm)
			img.fill(image.Rect(px-int(0.04*pxm), win.Min.Y, px+int(0.04*pxm), win.Max.Y), p.Color[0]/2, p.Color[1]/2, p.Color[2]/2)
		}
		// wheels
		for _, wm := range []float64{0.8, 3.6} {
			cx := int((front - wm) * pxm)
			img.fill(image.Rect(cx-int(0.33*pxm), int(0.78*float64(H)), cx+int(0.33*pxm), int(0.95*float64(H))), 20, 20, 22)
		}
		for _, f := range faces {
			if f.Vehicle != p.index {
				continue
			}
			img.paste(scaleFace(f.Person.Face, f.Full.Dx(), f.Full.Dy()), f.Full.Min)
			if f.Blur > 0 {
				img.hblur(f.Full.Inset(-f.Blur), f.Blur)
			}
		}
		if p.Variant == Glare {
			img.glare(s.glareRect(p, ci, t))
		}
	}
	r := rand.New(rand.NewPCG(s.cfg.Seed^uint64(i)*2654435761, uint64(ci)))
	if dark := s.darkAt(t); dark {
		img.darken(0.22, 7, r)
	} else {
		img.noise(2, r)
	}
	return &frame.Frame{Camera: cam, Seq: uint64(i + 1), Time: s.cfg.Start.Add(t), Width: W, Height: H, Pix: pix}
}

func (s *Scenario) bgOnce(ci int) {
	bgMu.Lock()
	defer bgMu.Unlock()
	if s.bg == nil {
		s.bg = make([][]byte, len(s.cfg.Cameras))
	}
	if s.bg[ci] == nil {
		s.bg[ci] = s.background(ci)
	}
}

var bgMu sync.Mutex

// darkAt: a dark vehicle's pass darkens the whole frame (night), from its
// entry to its exit.
func (s *Scenario) darkAt(t time.Duration) bool {
	for _, p := range s.vehicles {
		if p.Variant == Dark && t >= p.enter-time.Second/2 && t <= p.exit+time.Second/2 {
			return true
		}
	}
	return false
}

// bgr is a minimal BGR canvas.
type bgr struct {
	pix  []byte
	w, h int
}

func (b *bgr) clip(r image.Rectangle) image.Rectangle { return r.Intersect(image.Rect(0, 0, b.w, b.h)) }

func (b *bgr) fill(r image.Rectangle, cb, cg, cr uint8) {
	r = b.clip(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := b.pix[3*(y*b.w+r.Min.X) : 3*(y*b.w+r.Max.X)]
		for x := 0; x < len(row); x += 3 {
			row[x], row[x+1], row[x+2] = cb, cg, cr
		}
	}
}

// paste draws src (RGBA, alpha-blended) with its origin at at.
func (b *bgr) paste(src *image.RGBA, at image.Point) {
	r := b.clip(src.Bounds().Add(at))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := src.RGBAAt(x-at.X, y-at.Y)
			i := 3 * (y*b.w + x)
			a := uint32(c.A)
			b.pix[i] = uint8((uint32(c.B)*a + uint32(b.pix[i])*(255-a)) / 255)
			b.pix[i+1] = uint8((uint32(c.G)*a + uint32(b.pix[i+1])*(255-a)) / 255)
			b.pix[i+2] = uint8((uint32(c.R)*a + uint32(b.pix[i+2])*(255-a)) / 255)
		}
	}
}

// hblur is a horizontal box blur of length n over r (motion blur).
func (b *bgr) hblur(r image.Rectangle, n int) {
	r = b.clip(r)
	if r.Empty() || n < 2 {
		return
	}
	w := r.Dx()
	line := make([]int, 3*(w+1))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := b.pix[3*(y*b.w+r.Min.X) : 3*(y*b.w+r.Max.X)]
		for x := range w { // prefix sums
			for c := range 3 {
				line[3*(x+1)+c] = line[3*x+c] + int(row[3*x+c])
			}
		}
		for x := range w {
			lo, hi := max(0, x-n/2), min(w, x+n/2+1)
			for c := range 3 {
				row[3*x+c] = uint8((line[3*hi+c] - line[3*lo+c]) / (hi - lo))
			}
		}
	}
}

// glare adds a bright, soft-edged patch that clips to white at its centre.
func (b *bgr) glare(r image.Rectangle) {
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	rx, ry := float64(r.Dx())/2, float64(r.Dy())/2
	rr := b.clip(r)
	for y := rr.Min.Y; y < rr.Max.Y; y++ {
		for x := rr.Min.X; x < rr.Max.X; x++ {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			d := dx*dx + dy*dy
			if d >= 1 {
				continue
			}
			add := 320 * (1 - d)
			i := 3 * (y*b.w + x)
			for c := range 3 {
				b.pix[i+c] = clamp(float64(b.pix[i+c]) + add)
			}
		}
	}
}

func (b *bgr) darken(gain, sigma float64, r *rand.Rand) {
	for i, v := range b.pix {
		b.pix[i] = clamp(float64(v)*gain + r.NormFloat64()*sigma)
	}
}

func (b *bgr) noise(amp int, r *rand.Rand) {
	for i := 0; i < len(b.pix); i += 7 { // sparse: cheap and enough to break flat areas
		b.pix[i] = clamp(float64(b.pix[i]) + float64(r.IntN(2*amp+1)-amp))
	}
}

// ToImage converts a BGR frame to an image (for writing PNGs).
func ToImage(f *frame.Frame) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := range f.Height {
		for x := range f.Width {
			i := 3 * (y*f.Width + x)
			img.SetRGBA(x, y, color.RGBA{f.Pix[i+2], f.Pix[i+1], f.Pix[i], 255})
		}
	}
	return img
}
