package passgen

import (
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	_ "image/jpeg" // photos
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// skinTones spans light to dark skin (sRGB), so drawn faces do not all
// look alike to a detector.
var skinTones = [][3]uint8{
	{255, 224, 196}, {241, 194, 155}, {224, 172, 130}, {198, 134, 88},
	{161, 102, 64}, {120, 74, 44}, {88, 54, 34}, {62, 38, 25},
}

// SyntheticFace draws a simple frontal face for id (deterministic): skin
// tone, face shape, eye spacing, hair and mouth vary with id. It is for
// the engine's tests with a scripted analyzer; evaluations with real
// inference use photos (LoadPeople).
func SyntheticFace(id string) image.Image {
	h := fnv.New64a()
	h.Write([]byte(id))
	r := rand.New(rand.NewPCG(h.Sum64(), 3))
	const W, H = 120, 150
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	skin := skinTones[r.IntN(len(skinTones))]
	hair := color.RGBA{uint8(r.IntN(90)), uint8(r.IntN(70)), uint8(r.IntN(50)), 255}
	fw := 0.36 + 0.06*r.Float64() // half-width, fraction of W
	fh := 0.40 + 0.05*r.Float64()
	eyeDX := 0.15 + 0.04*r.Float64()
	cx, cy := 0.5*W, 0.55*H
	for y := range H {
		for x := range W {
			dx, dy := (float64(x)-cx)/(fw*W), (float64(y)-cy)/(fh*H)
			d := dx*dx + dy*dy
			switch {
			case d <= 1 && float64(y) < cy-0.62*fh*H: // hairline
				img.SetRGBA(x, y, hair)
			case d <= 1:
				shade := 1 - 0.18*d
				img.SetRGBA(x, y, color.RGBA{uint8(float64(skin[0]) * shade), uint8(float64(skin[1]) * shade), uint8(float64(skin[2]) * shade), 255})
			case d <= 1.25 && float64(y) < cy:
				img.SetRGBA(x, y, hair)
			}
		}
	}
	disc := func(x, y, rx, ry float64, c color.RGBA) {
		for yy := int(y - ry); yy <= int(y+ry); yy++ {
			for xx := int(x - rx); xx <= int(x+rx); xx++ {
				dx, dy := (float64(xx)-x)/rx, (float64(yy)-y)/ry
				if dx*dx+dy*dy <= 1 && image.Pt(xx, yy).In(img.Rect) {
					img.SetRGBA(xx, yy, c)
				}
			}
		}
	}
	ey := cy - 0.12*H
	for _, s := range []float64{-1, 1} {
		ex := cx + s*eyeDX*W
		disc(ex, ey-9, 10, 2.5, hair)                                           // brow
		disc(ex, ey, 8, 4.5, color.RGBA{245, 245, 245, 255})                    // white
		disc(ex, ey, 3.5, 3.5, color.RGBA{uint8(40 + r.IntN(60)), 30, 20, 255}) // iris
	}
	nose := color.RGBA{uint8(float64(skin[0]) * 0.8), uint8(float64(skin[1]) * 0.75), uint8(float64(skin[2]) * 0.75), 255}
	disc(cx, cy+0.04*H, 5, 9, nose)
	mw := 12 + 6*r.Float64()
	for x := -mw; x <= mw; x++ {
		y := cy + 0.2*H + 3*math.Cos(x/mw*math.Pi/2)
		disc(cx+x, y, 1.5, 2, color.RGBA{150, 60, 60, 255})
	}
	return img
}

// LoadPeople reads a folder per person (folder name = subject id) and
// returns each person with the first image (name order) of its folder.
// enrolled reports which ids are in the gallery.
func LoadPeople(dir string, enrolled func(id string) bool) ([]Person, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("passgen: %w", err)
	}
	var out []Person
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("passgen: %w", err)
		}
		var names []string
		for _, f := range files {
			switch strings.ToLower(filepath.Ext(f.Name())) {
			case ".jpg", ".jpeg", ".png":
				names = append(names, f.Name())
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			continue
		}
		img, err := loadImage(filepath.Join(dir, e.Name(), names[0]))
		if err != nil {
			return nil, err
		}
		out = append(out, Person{ID: e.Name(), Enrolled: enrolled == nil || enrolled(e.Name()), Face: img})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("passgen: no person folders with images in %s", dir)
	}
	return out, nil
}

func loadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("passgen: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("passgen: %s: %w", path, err)
	}
	if b := img.Bounds(); b.Dx() < 16 || b.Dy() < 16 || b.Dx() > 8192 || b.Dy() > 8192 {
		return nil, fmt.Errorf("passgen: %s: %dx%d out of range", path, b.Dx(), b.Dy())
	}
	return img, nil
}
