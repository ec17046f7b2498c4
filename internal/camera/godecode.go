package camera

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision/jpegcheck"
)

// GoDecoder decodes with the standard library: image/jpeg after
// jpegcheck (so frames without Huffman tables decode and truncated ones
// are refused), image/png, and YUYVToBGR. It is the reference the OpenCV
// decoder is benchmarked against, and the decoder of tests and tools.
// The zero value is ready; it is safe for concurrent use.
type GoDecoder struct{}

// Decode implements Decoder. For YUYV, dst.Width and dst.Height must hold
// the negotiated size; the row stride is taken from len(src).
func (GoDecoder) Decode(dst *frame.Frame, src []byte, f Format) error {
	switch f {
	case YUYV:
		w, h := dst.Width, dst.Height
		if h <= 0 {
			return fmt.Errorf("%w: YUYV frame of unknown size", ErrCorrupt)
		}
		dst.Pix = grow(dst.Pix, 3*w*h)
		return YUYVToBGR(dst.Pix, src, w, h, len(src)/h)
	case MJPEG, JPEG:
		data, info, _, err := jpegcheck.Prepare(src, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if b := img.Bounds(); b.Dx() != info.Width || b.Dy() != info.Height {
			return fmt.Errorf("%w: decoded %dx%d, header %dx%d", ErrCorrupt, b.Dx(), b.Dy(), info.Width, info.Height)
		}
		ImageToBGR(dst, img)
		return nil
	case PNG:
		cfg, err := png.DecodeConfig(bytes.NewReader(src))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > frameMaxSide || cfg.Height > frameMaxSide {
			return fmt.Errorf("%w: PNG declares %dx%d", ErrCorrupt, cfg.Width, cfg.Height)
		}
		img, err := png.Decode(bytes.NewReader(src))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		ImageToBGR(dst, img)
		return nil
	}
	return fmt.Errorf("camera: GoDecoder cannot decode %s", f)
}

const frameMaxSide = 1 << 14

// ImageToBGR stores img into dst as packed BGR (reusing dst.Pix).
func ImageToBGR(dst *frame.Frame, img image.Image) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst.Width, dst.Height = w, h
	dst.Pix = grow(dst.Pix, 3*w*h)
	out := dst.Pix
	o := 0
	switch m := img.(type) {
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				out[o], out[o+1], out[o+2] = bl, g, r
				o += 3
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for _, v := range m.Pix[m.PixOffset(b.Min.X, y) : m.PixOffset(b.Min.X, y)+w] {
				out[o], out[o+1], out[o+2] = v, v, v
				o += 3
			}
		}
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y) : m.PixOffset(b.Min.X, y)+4*w]
			for i := 0; i < len(row); i += 4 {
				out[o], out[o+1], out[o+2] = row[i+2], row[i+1], row[i]
				o += 3
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y) : m.PixOffset(b.Min.X, y)+4*w]
			for i := 0; i < len(row); i += 4 {
				out[o], out[o+1], out[o+2] = row[i+2], row[i+1], row[i]
				o += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				out[o], out[o+1], out[o+2] = c.B, c.G, c.R
				o += 3
			}
		}
	}
}

// BGRImage wraps a frame's pixels as an image for encoding (PNG in
// recordings): a copy into NRGBA.
func BGRImage(f *frame.Frame) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, f.Width, f.Height))
	for i, j := 0, 0; i+2 < len(f.Pix); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = f.Pix[i+2], f.Pix[i+1], f.Pix[i], 255
	}
	return img
}
