package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"gocv.io/x/gocv"
	"golang.org/x/image/webp"
)

const (
	// MaxPixels caps width×height of an image: 40 megapixels (a 7680×5120
	// photo) is far above any booth camera; a header declaring 20000×20000
	// (400 MP, 1.2 GB as BGR) is refused before anything is allocated.
	MaxPixels = 40_000_000
	// MaxSide caps either side, whatever the area.
	MaxSide = 16384
	// MaxFileBytes caps the size of a file Load reads.
	MaxFileBytes = 64 << 20
)

// Format is a sniffed image format.
type Format string

const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	WebP Format = "webp"
)

// Error sentinels, wrapped in errors that name the file.
var (
	ErrEmpty    = errors.New("empty file")
	ErrUnknown  = errors.New("not a JPEG, PNG or WebP image")
	ErrTooLarge = errors.New("image too large")
	ErrCorrupt  = errors.New("corrupt or truncated image")
)

// Sniff identifies the format from the first bytes, "" if unknown.
func Sniff(data []byte) Format {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		return PNG
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP
	}
	return ""
}

// Load reads and decodes the image file at path (see Decode).
func Load(path string) (gocv.Mat, error) {
	f, err := os.Open(path)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("load image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("load image %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return gocv.Mat{}, fmt.Errorf("load image %s: not a regular file", path)
	}
	if st.Size() > MaxFileBytes {
		return gocv.Mat{}, fmt.Errorf("load image %s: %w: file has %d bytes, limit %d", path, ErrTooLarge, st.Size(), MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("load image %s: %w", path, err)
	}
	return Decode(path, data)
}

// Header is what CheckHeader learns without decoding pixels.
type Header struct {
	Format        Format
	Width, Height int
}

// CheckHeader sniffs the format and reads the header, refusing empty
// data, unknown formats and sizes beyond MaxPixels/MaxSide. name is used
// in errors only.
func CheckHeader(name string, data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, fmt.Errorf("image %s: %w", name, ErrEmpty)
	}
	f := Sniff(data)
	if f == "" {
		return Header{}, fmt.Errorf("image %s: %w", name, ErrUnknown)
	}
	var cfg image.Config
	var err error
	switch f {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case WebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return Header{}, fmt.Errorf("image %s: %w: %s header: %v", name, ErrCorrupt, f, err)
	}
	h := Header{Format: f, Width: cfg.Width, Height: cfg.Height}
	if h.Width <= 0 || h.Height <= 0 {
		return h, fmt.Errorf("image %s: %w: %s declares %dx%d", name, ErrCorrupt, f, h.Width, h.Height)
	}
	if h.Width > MaxSide || h.Height > MaxSide || int64(h.Width)*int64(h.Height) > MaxPixels {
		return h, fmt.Errorf("image %s: %w: %s declares %dx%d, limit %d pixels and %d per side",
			name, ErrTooLarge, f, h.Width, h.Height, MaxPixels, MaxSide)
	}
	return h, nil
}

// Decode decodes a JPEG, PNG or WebP held in data into a new 8-bit BGR Mat
// (CV_8UC3) that the caller must Close. name (usually the file path) is
// used in errors only. Truncated or corrupt data is an error, never a
// partly grey image. On error the returned Mat is the zero Mat: it holds
// nothing to free (Close on it is a no-op) and must not be used.
func Decode(name string, data []byte) (gocv.Mat, error) {
	h, err := CheckHeader(name, data)
	if err != nil {
		return gocv.Mat{}, err
	}
	var img image.Image
	switch h.Format {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("image %s: %w: %v", name, ErrCorrupt, err)
	}
	b := img.Bounds()
	if b.Dx() != h.Width || b.Dy() != h.Height {
		return gocv.Mat{}, fmt.Errorf("image %s: %w: decoded %dx%d, header %dx%d", name, ErrCorrupt, b.Dx(), b.Dy(), h.Width, h.Height)
	}
	// Convert straight into memory OpenCV owns. (gocv.NewMatFromBytes
	// would wrap the Go slice without copying: a Region of that Mat
	// outliving it would read freed Go memory.)
	m := gocv.NewMatWithSize(h.Height, h.Width, gocv.MatTypeCV8UC3)
	px, err := m.DataPtrUint8()
	if err != nil || len(px) != h.Width*h.Height*3 {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("image %s: allocate %dx%d: %v", name, h.Width, h.Height, err)
	}
	toBGR(img, px)
	return m, nil
}

// ToBGR converts img to packed 8-bit BGR rows. Alpha is composited over
// white; gray is replicated.
func ToBGR(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, b.Dx()*b.Dy()*3)
	toBGR(img, out)
	return out
}

// toBGR writes img as packed BGR rows into out (len w*h*3).
func toBGR(img image.Image, out []byte) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.YCbCr:
		sx, sy := chromaShift(m.SubsampleRatio)
		for y := 0; y < h; y++ {
			o := y * w * 3
			yrow := m.Y[(b.Min.Y+y-m.Rect.Min.Y)*m.YStride+(b.Min.X-m.Rect.Min.X):]
			crow := ((b.Min.Y+y)>>sy - m.Rect.Min.Y>>sy) * m.CStride
			cx0 := m.Rect.Min.X >> sx
			cb, cr := m.Cb[crow:], m.Cr[crow:]
			for x := 0; x < w; x++ {
				ci := (b.Min.X+x)>>sx - cx0
				r, g, bl := color.YCbCrToRGB(yrow[x], cb[ci], cr[ci])
				out[o], out[o+1], out[o+2] = bl, g, r
				o += 3
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			o := y * w * 3
			for _, v := range row {
				out[o], out[o+1], out[o+2] = v, v, v
				o += 3
			}
		}
	case *image.RGBA: // premultiplied: over white is c + (255-a)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for i := 0; i < len(row); i += 4 {
				k := 255 - uint16(row[i+3])
				out[o] = byte(min(255, uint16(row[i+2])+k))
				out[o+1] = byte(min(255, uint16(row[i+1])+k))
				out[o+2] = byte(min(255, uint16(row[i])+k))
				o += 3
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for i := 0; i < len(row); i += 4 {
				a := uint32(row[i+3])
				out[o] = overWhite(row[i+2], a)
				out[o+1] = overWhite(row[i+1], a)
				out[o+2] = overWhite(row[i], a)
				o += 3
			}
		}
	default: // paletted, 16-bit, CMYK, gray+alpha: slow generic path
		for y := 0; y < h; y++ {
			o := y * w * 3
			for x := 0; x < w; x++ {
				r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // premultiplied, 16-bit
				k := 0xFFFF - a
				out[o] = byte((bl + k) >> 8)
				out[o+1] = byte((g + k) >> 8)
				out[o+2] = byte((r + k) >> 8)
				o += 3
			}
		}
	}
}

// chromaShift gives the log2 horizontal and vertical chroma subsampling.
func chromaShift(r image.YCbCrSubsampleRatio) (sx, sy uint) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}

// overWhite composites a non-premultiplied 8-bit channel with alpha a over white.
func overWhite(c byte, a uint32) byte {
	return byte((uint32(c)*a + 255*(255-a) + 127) / 255)
}
