// Command mkframes writes the benchmark frames listed in internal/bench/frames.json as
// lossless PNG files, so that laned's Go benchmarks and the JavaScript
// reference benchmark (internal/bench/reference) read exactly the same pixels.
//
// Each frame is cut from a source photo (checked against its sha256) or from
// a frame listed before it, optionally cropped and resized with INTER_AREA.
//
//	go run ./internal/bench/mkframes [-frames internal/bench/frames.json] [-src DIR] [-out DIR]
//
// -src defaults to $LANED_MODEL_DIR/face-api/demo (else models/cache/face-api/demo),
// -out to $LANED_BENCH_FRAMES (else models/cache/bench).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"
)

// Rect is a crop in pixels of the frame's input.
type Rect struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Size is a resize target in pixels.
type Size struct {
	W int `json:"w"`
	H int `json:"h"`
}

// Frame is one entry of frames.json.
type Frame struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Source string `json:"source,omitempty"` // photo in the source directory
	SHA256 string `json:"sha256,omitempty"` // of Source
	From   string `json:"from,omitempty"`   // name of an earlier frame
	Crop   *Rect  `json:"crop,omitempty"`
	Resize *Size  `json:"resize,omitempty"` // INTER_AREA
	Faces  int    `json:"faces"`
	Note   string `json:"note,omitempty"`
}

// Spec is frames.json.
type Spec struct {
	Comment string  `json:"comment,omitempty"`
	Frames  []Frame `json:"frames"`
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mkframes:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("mkframes", flag.ContinueOnError)
	specPath := fs.String("frames", "internal/bench/frames.json", "frame list")
	src := fs.String("src", "", "directory of source photos (default $LANED_MODEL_DIR/face-api/demo, else models/cache/face-api/demo)")
	out := fs.String("out", "", "output directory (default $LANED_BENCH_FRAMES, else models/cache/bench)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" {
		md := os.Getenv("LANED_MODEL_DIR")
		if md == "" {
			md = filepath.Join("models", "cache")
		}
		*src = filepath.Join(md, "face-api", "demo")
	}
	if *out == "" {
		*out = os.Getenv("LANED_BENCH_FRAMES")
		if *out == "" {
			*out = filepath.Join("models", "cache", "bench")
		}
	}
	spec, err := readSpec(*specPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	made := map[string]gocv.Mat{}
	defer func() {
		for _, m := range made {
			m.Close()
		}
	}()
	for _, f := range spec.Frames {
		m, err := makeFrame(f, *src, made)
		if err != nil {
			return fmt.Errorf("frame %q: %w", f.Name, err)
		}
		made[f.Name] = m
		dst := filepath.Join(*out, f.File)
		if err := writePNG(dst, m); err != nil {
			return fmt.Errorf("frame %q: %w", f.Name, err)
		}
		fmt.Fprintf(log, "mkframes: %s %dx%d -> %s\n", f.Name, m.Cols(), m.Rows(), dst)
	}
	return nil
}

func readSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read frame list: %w", err)
	}
	return parseSpec(b, path)
}

// parseSpec decodes and checks a frame list; path only names it in errors.
func parseSpec(b []byte, path string) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse frame list %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, f := range s.Frames {
		switch {
		case f.Name == "" || f.File == "":
			return nil, fmt.Errorf("frame list %s: entry %d needs name and file", path, i)
		case filepath.Base(f.File) != f.File || !strings.HasSuffix(f.File, ".png"):
			return nil, fmt.Errorf("frame list %s: %q: file must be a plain .png name", path, f.Name)
		case (f.Source == "") == (f.From == ""):
			return nil, fmt.Errorf("frame list %s: %q: give exactly one of source and from", path, f.Name)
		case f.From != "" && !seen[f.From]:
			return nil, fmt.Errorf("frame list %s: %q: from %q must name an earlier frame", path, f.Name, f.From)
		case seen[f.Name]:
			return nil, fmt.Errorf("frame list %s: duplicate frame %q", path, f.Name)
		}
		seen[f.Name] = true
	}
	if len(s.Frames) == 0 {
		return nil, fmt.Errorf("frame list %s: no frames", path)
	}
	return &s, nil
}

func makeFrame(f Frame, srcDir string, made map[string]gocv.Mat) (gocv.Mat, error) {
	var in gocv.Mat
	if f.Source != "" {
		p := filepath.Join(srcDir, f.Source)
		if err := checkSum(p, f.SHA256); err != nil {
			return gocv.Mat{}, err
		}
		in = gocv.IMRead(p, gocv.IMReadColor)
		if in.Empty() {
			in.Close()
			return gocv.Mat{}, fmt.Errorf("decode %s: not a readable image", p)
		}
		defer in.Close()
	} else {
		in = made[f.From] // owned by made
	}
	var cur gocv.Mat
	if c := f.Crop; c != nil {
		if c.W <= 0 || c.H <= 0 || c.X < 0 || c.Y < 0 || c.X+c.W > in.Cols() || c.Y+c.H > in.Rows() {
			return gocv.Mat{}, fmt.Errorf("crop %+v outside the %dx%d input", *c, in.Cols(), in.Rows())
		}
		roi := in.Region(image.Rect(c.X, c.Y, c.X+c.W, c.Y+c.H))
		cur = roi.Clone() // continuous copy
		roi.Close()
	} else {
		cur = in.Clone()
	}
	if r := f.Resize; r != nil {
		if r.W <= 0 || r.H <= 0 || r.W > 8192 || r.H > 8192 {
			cur.Close()
			return gocv.Mat{}, fmt.Errorf("resize %+v out of range", *r)
		}
		dst := gocv.NewMat()
		gocv.Resize(cur, &dst, image.Pt(r.W, r.H), 0, 0, gocv.InterpolationArea)
		cur.Close()
		cur = dst
	}
	return cur, nil
}

func checkSum(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("source photo (fetched by `laned models fetch`): %w", err)
	}
	if want == "" {
		return nil
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("source photo %s: sha256 %s, want %s", path, got, want)
	}
	return nil
}

// writePNG writes atomically: a reader never sees a half-written frame.
func writePNG(dst string, m gocv.Mat) error {
	tmp := dst + ".tmp.png"
	if !gocv.IMWrite(tmp, m) {
		os.Remove(tmp)
		return errors.New("write " + dst + ": OpenCV could not encode PNG")
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
