package eval

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/laned/laned/internal/vision"
)

// Dataset is a dlib imglab file: images, each with its labelled boxes.
type Dataset struct {
	Name   string
	Images []LabelledImage
}

// LabelledImage is one <image>. Path is resolved against the XML file's
// directory by LoadImglab (as imglab does); ParseImglab leaves it as written.
type LabelledImage struct {
	Path          string
	Width, Height int // as declared; 0 when absent
	Boxes         []LabelledBox
}

// LabelledBox is one <box>. Ignore boxes (ignore='1') neither count as
// faces to find nor make a detection on them a false positive.
type LabelledBox struct {
	Box    vision.Box
	Ignore bool
}

type xmlDataset struct {
	XMLName xml.Name   `xml:"dataset"`
	Name    string     `xml:"name"`
	Images  []xmlImage `xml:"images>image"`
}

type xmlImage struct {
	File   string   `xml:"file,attr"`
	Width  string   `xml:"width,attr"`
	Height string   `xml:"height,attr"`
	Boxes  []xmlBox `xml:"box"`
}

type xmlBox struct {
	Top    string `xml:"top,attr"`
	Left   string `xml:"left,attr"`
	Width  string `xml:"width,attr"`
	Height string `xml:"height,attr"`
	Ignore string `xml:"ignore,attr"`
}

// maxImglabBytes bounds what ParseImglab reads: label files are small.
const maxImglabBytes = 64 << 20

// maxCoord bounds box coordinates and image sizes (pixels).
const maxCoord = 1 << 20

// LoadImglab reads an imglab XML file and resolves image paths relative
// to its directory.
func LoadImglab(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open boxes file: %w", err)
	}
	defer f.Close()
	ds, err := ParseImglab(f)
	if err != nil {
		return nil, fmt.Errorf("boxes file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i := range ds.Images {
		if !filepath.IsAbs(ds.Images[i].Path) {
			ds.Images[i].Path = filepath.Join(dir, filepath.FromSlash(ds.Images[i].Path))
		}
	}
	return ds, nil
}

// ParseImglab parses the imglab XML format:
//
//	<dataset><images>
//	  <image file='a.jpg' width='500' height='375'>
//	    <box top='78' left='329' width='109' height='109' [ignore='1']/>
//	  </image>
//	</images></dataset>
//
// Boxes with a non-positive or out-of-range size, or images without a
// file, are errors that name the image.
func ParseImglab(r io.Reader) (*Dataset, error) {
	dec := xml.NewDecoder(io.LimitReader(r, maxImglabBytes))
	dec.CharsetReader = charsetReader
	var x xmlDataset
	if err := dec.Decode(&x); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse imglab xml: no <dataset> element")
		}
		return nil, fmt.Errorf("parse imglab xml: %w", err)
	}
	ds := &Dataset{Name: strings.TrimSpace(x.Name)}
	for i, xi := range x.Images {
		file := strings.TrimSpace(xi.File)
		if file == "" {
			return nil, fmt.Errorf("image %d: missing file attribute", i+1)
		}
		li := LabelledImage{Path: file}
		var err error
		if li.Width, err = optInt(xi.Width, "width"); err != nil {
			return nil, fmt.Errorf("image %q: %w", file, err)
		}
		if li.Height, err = optInt(xi.Height, "height"); err != nil {
			return nil, fmt.Errorf("image %q: %w", file, err)
		}
		for j, xb := range xi.Boxes {
			b, err := parseBox(xb)
			if err != nil {
				return nil, fmt.Errorf("image %q box %d: %w", file, j+1, err)
			}
			li.Boxes = append(li.Boxes, b)
		}
		ds.Images = append(ds.Images, li)
	}
	return ds, nil
}

func parseBox(xb xmlBox) (LabelledBox, error) {
	var v [4]int
	for i, f := range []struct{ s, name string }{{xb.Top, "top"}, {xb.Left, "left"}, {xb.Width, "width"}, {xb.Height, "height"}} {
		n, err := reqInt(f.s, f.name)
		if err != nil {
			return LabelledBox{}, err
		}
		v[i] = n
	}
	top, left, w, h := v[0], v[1], v[2], v[3]
	if w <= 0 || h <= 0 {
		return LabelledBox{}, fmt.Errorf("size %dx%d is not positive", w, h)
	}
	ign := strings.TrimSpace(xb.Ignore)
	return LabelledBox{
		Box:    vision.Box{X0: float32(left), Y0: float32(top), X1: float32(left + w), Y1: float32(top + h)},
		Ignore: ign != "" && ign != "0" && ign != "false",
	}, nil
}

func reqInt(s, name string) (int, error) {
	if strings.TrimSpace(s) == "" {
		return 0, fmt.Errorf("missing %s attribute", name)
	}
	return parseInt(s, name)
}

func optInt(s, name string) (int, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	n, err := parseInt(s, name)
	if err == nil && n < 0 {
		err = fmt.Errorf("%s %d is negative", name, n)
	}
	return n, err
}

func parseInt(s, name string) (int, error) {
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", name, s)
	}
	if n < -maxCoord || n > maxCoord {
		return 0, fmt.Errorf("%s %d out of range ±%d", name, n, maxCoord)
	}
	return n, nil
}

// charsetReader accepts the ISO-8859-1 declaration that imglab writes
// (and UTF-8/ASCII); Latin-1 bytes are mapped to their code points.
func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii", "utf-8", "utf8":
		return &latin1Reader{r: in, utf8: strings.HasPrefix(strings.ToLower(charset), "utf")}, nil
	}
	return nil, fmt.Errorf("unsupported xml encoding %q", charset)
}

type latin1Reader struct {
	r    io.Reader
	utf8 bool
	buf  []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if l.utf8 {
		return l.r.Read(p)
	}
	if len(l.buf) == 0 {
		tmp := make([]byte, max(1, len(p)/2))
		n, err := l.r.Read(tmp)
		for _, b := range tmp[:n] {
			if b < 0x80 {
				l.buf = append(l.buf, b)
			} else {
				l.buf = append(l.buf, 0xC0|b>>6, 0x80|b&0x3F)
			}
		}
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}
