package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
)

// testImage is a w×h picture: red left half, blue right half, a gradient
// of green down the rows, so channel order and orientation show.
func testImage(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{G: uint8(y * 255 / max(1, h-1)), A: 255}
			if x < w/2 {
				c.R = 255
			} else {
				c.B = 255
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngWithSize rewrites the IHDR of a valid PNG to declare w×h (CRC fixed),
// as a malicious header would.
func pngWithSize(t testing.TB, w, h uint32) []byte {
	p := encPNG(t, testImage(2, 2))
	// signature(8) length(4) "IHDR"(4) width(4) height(4) ... crc after 13 data bytes
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

// jpegWithSize rewrites the SOF0 frame header of a valid JPEG to declare w×h.
func jpegWithSize(t testing.TB, w, h uint16) []byte {
	j := encJPEG(t, testImage(16, 16))
	for i := 2; i+9 < len(j); i++ {
		if j[i] == 0xFF && j[i+1] == 0xC0 {
			binary.BigEndian.PutUint16(j[i+5:], h)
			binary.BigEndian.PutUint16(j[i+7:], w)
			return j
		}
	}
	t.Fatal("no SOF0 in encoded jpeg")
	return nil
}

func bgrAt(t testing.TB, m gocv.Mat, x, y int) [3]int {
	v := m.GetVecbAt(y, x)
	return [3]int{int(v[0]), int(v[1]), int(v[2])}
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

func TestDecodeGood(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 32, 24))
	for i := range gray.Pix {
		gray.Pix[i] = 200
	}
	alpha := testImage(32, 24)
	for i := 3; i < len(alpha.Pix); i += 4 {
		alpha.Pix[i] = 0 // fully transparent → white
	}
	half := testImage(32, 24)
	for i := 3; i < len(half.Pix); i += 4 {
		half.Pix[i] = 128
	}
	pal := image.NewPaletted(image.Rect(0, 0, 32, 24), color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}})
	for y := 0; y < 24; y++ {
		for x := 16; x < 32; x++ {
			pal.SetColorIndex(x, y, 1)
		}
	}
	g16 := image.NewGray16(image.Rect(0, 0, 32, 24))
	for i := 0; i < len(g16.Pix); i += 2 {
		g16.Pix[i], g16.Pix[i+1] = 0x80, 0xFF // 0x80FF → 128
	}
	n64 := image.NewNRGBA64(image.Rect(0, 0, 32, 24))
	for y := 0; y < 24; y++ {
		for x := 0; x < 32; x++ {
			n64.SetNRGBA64(x, y, color.NRGBA64{R: 0xFFFF, A: 0x8080}) // half-transparent red
		}
	}
	tests := []struct {
		name       string
		data       []byte
		left, righ [3]int // BGR at (2,0) and (w-3,0)
		tol        int
	}{
		{"png paletted", encPNG(t, pal), [3]int{0, 0, 255}, [3]int{255, 0, 0}, 0},
		{"png gray 16-bit", encPNG(t, g16), [3]int{128, 128, 128}, [3]int{128, 128, 128}, 1},
		{"png 16-bit half alpha", encPNG(t, n64), [3]int{127, 127, 255}, [3]int{127, 127, 255}, 1},
		{"jpeg color", encJPEG(t, testImage(32, 24)), [3]int{0, 0, 255}, [3]int{255, 0, 0}, 24},
		{"png color", encPNG(t, testImage(32, 24)), [3]int{0, 0, 255}, [3]int{255, 0, 0}, 0},
		{"jpeg gray", encJPEG(t, gray), [3]int{200, 200, 200}, [3]int{200, 200, 200}, 3},
		{"png gray", encPNG(t, gray), [3]int{200, 200, 200}, [3]int{200, 200, 200}, 0},
		{"png transparent over white", encPNG(t, alpha), [3]int{255, 255, 255}, [3]int{255, 255, 255}, 0},
		{"png half alpha", encPNG(t, half), [3]int{127, 127, 255}, [3]int{255, 127, 127}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.name, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Type() != gocv.MatTypeCV8UC3 || m.Cols() != 32 || m.Rows() != 24 {
				t.Fatalf("got %v %dx%d, want CV_8UC3 32x24", m.Type(), m.Cols(), m.Rows())
			}
			if got := bgrAt(t, m, 2, 0); !near(got, tc.left, tc.tol) {
				t.Errorf("left pixel BGR %v, want %v ±%d", got, tc.left, tc.tol)
			}
			if got := bgrAt(t, m, 29, 0); !near(got, tc.righ, tc.tol) {
				t.Errorf("right pixel BGR %v, want %v ±%d", got, tc.righ, tc.tol)
			}
		})
	}
}

// TestDecodeMatchesOpenCV checks the Go decode + conversion against
// cv::imdecode on a valid JPEG (IDCT and upsampling differ by a few levels).
func TestDecodeMatchesOpenCV(t *testing.T) {
	data := encJPEG(t, testImage(64, 48))
	ours, err := Decode("x.jpg", data)
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	cv, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer cv.Close()
	diff := gocv.NewMat()
	defer diff.Close()
	gocv.AbsDiff(ours, cv, &diff)
	// Go upsamples chroma by replication, libjpeg by interpolation: a
	// few levels of difference along the colour edges of this image.
	if mean := diff.Mean(); mean.Val1 > 4 || mean.Val2 > 4 || mean.Val3 > 4 {
		t.Fatalf("mean abs difference to cv::imdecode %v, want ≤ 4 per channel", mean)
	}
	// On a real photo the difference is smaller.
	src := filepath.Join("..", "..", "..", "models", "cache", "face-api", "demo", "sample1.jpg")
	photo, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("sample photo absent: %v", err)
	}
	a, err := Decode(src, photo)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := gocv.IMDecode(photo, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	gocv.AbsDiff(a, b, &diff)
	if mean := diff.Mean(); mean.Val1 > 1.5 || mean.Val2 > 1.5 || mean.Val3 > 1.5 {
		t.Fatalf("photo: mean abs difference to cv::imdecode %v, want ≤ 1.5 per channel", mean)
	} else {
		t.Logf("photo: mean abs difference to cv::imdecode %.2f %.2f %.2f", mean.Val1, mean.Val2, mean.Val3)
	}
}

func TestDecodeBad(t *testing.T) {
	good := encJPEG(t, testImage(64, 48))
	corrupt := append([]byte(nil), good...)
	for i := len(corrupt) / 2; i < len(corrupt)/2+40; i++ {
		corrupt[i] = 0x55
	}
	goodPNG := encPNG(t, testImage(64, 48))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"zero size", nil, ErrEmpty},
		{"not an image", []byte("hello, this is a text file\n"), ErrUnknown},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ErrUnknown},
		{"jpeg magic only", good[:3], ErrCorrupt},
		{"jpeg header only", good[:200], ErrCorrupt},
		{"jpeg truncated half", good[:len(good)/2], ErrCorrupt},
		{"jpeg truncated last bytes", good[:len(good)-2], ErrCorrupt},
		{"jpeg corrupt middle", corrupt, ErrCorrupt},
		{"jpeg declares 20000x20000", jpegWithSize(t, 20000, 20000), ErrTooLarge},
		{"jpeg declares 0 width", jpegWithSize(t, 0, 16), ErrCorrupt},
		{"png truncated", goodPNG[:len(goodPNG)/2], ErrCorrupt},
		{"png truncated header", goodPNG[:20], ErrCorrupt},
		{"png declares 20000x20000", pngWithSize(t, 20000, 20000), ErrTooLarge},
		{"png declares 16385x1", pngWithSize(t, 16385, 1), ErrTooLarge},
		{"png declares 2x3 but holds 2x2", pngWithSize(t, 2, 3), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "bad/" + strings.ReplaceAll(tc.name, " ", "_") + ".img"
			m, err := Decode(name, tc.data)
			if err == nil {
				defer m.Close()
				t.Fatalf("decoded %dx%d, want error", m.Cols(), m.Rows())
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file", err)
			}
			if m.Ptr() != nil {
				t.Errorf("mat allocated on error")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	if err := os.WriteFile(good, encPNG(t, testImage(8, 6)), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if m.Cols() != 8 || m.Rows() != 6 {
		t.Errorf("got %dx%d", m.Cols(), m.Rows())
	}
	m.Close()
	for _, p := range []string{filepath.Join(dir, "missing.jpg"), dir} {
		m, err := Load(p)
		m.Close()
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Load(%s): error %v, want one naming the path", p, err)
		}
	}
}

// FuzzDecode: Decode never panics or crashes in cgo, and whatever it
// accepts is a non-empty BGR Mat within the size caps.
func FuzzDecode(f *testing.F) {
	j := encJPEG(f, testImage(16, 12))
	p := encPNG(f, testImage(16, 12))
	g := encPNG(f, image.NewGray(image.Rect(0, 0, 5, 3)))
	w := encWebP(f, testImage(16, 12), 101)
	for _, s := range [][]byte{j, p, g, w, j[:len(j)/2], p[:len(p)/2], w[:len(w)/2], j[:100], pngWithSize(f, 20000, 20000), jpegWithSize(f, 20000, 20000), nil, []byte("text")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode("fuzz", data)
		if err != nil {
			if m.Ptr() != nil {
				t.Fatal("allocated mat with error")
			}
			return
		}
		defer m.Close()
		if m.Empty() || m.Type() != gocv.MatTypeCV8UC3 || m.Cols()*m.Rows() > MaxPixels {
			t.Fatalf("accepted %v %dx%d", m.Type(), m.Cols(), m.Rows())
		}
	})
}

func benchDecode(b *testing.B, viaOpenCV bool) {
	src := filepath.Join("..", "..", "..", "models", "cache", "face-api", "demo", "sample1.jpg")
	data, err := os.ReadFile(src)
	if err != nil {
		b.Skipf("sample photo absent: %v", err)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		var m gocv.Mat
		if viaOpenCV {
			m, err = gocv.IMDecode(data, gocv.IMReadColor)
		} else {
			m, err = Decode(src, data)
		}
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

// BenchmarkDecode measures the safe decode of a 1920×1280 JPEG against
// BenchmarkDecodeOpenCV, cv::imdecode on the same bytes (unsafe on
// untrusted data, the peer for the cost ratio).
func BenchmarkDecode(b *testing.B)       { benchDecode(b, false) }
func BenchmarkDecodeOpenCV(b *testing.B) { benchDecode(b, true) }

// TestDecodeOwnsPixels: a Region of a decoded Mat stays valid after the
// Go side is collected (the pixels live in OpenCV's memory), and a decode
// loop keeps resident memory flat.
func TestDecodeOwnsPixels(t *testing.T) {
	data := encPNG(t, testImage(64, 48))
	m, err := Decode("x.png", data)
	if err != nil {
		t.Fatal(err)
	}
	roi := m.Region(image.Rect(0, 0, 8, 8))
	defer roi.Close()
	defer m.Close()
	runtime.GC()
	junk := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		junk = append(junk, bytes.Repeat([]byte{0xAA}, 64*48*3))
	}
	runtime.KeepAlive(junk)
	if got := bgrAt(t, roi, 2, 0); got != [3]int{0, 0, 255} {
		t.Errorf("region pixel %v after GC, want red", got)
	}

	if testing.Short() {
		return
	}
	big := encJPEG(t, testImage(1280, 720))
	loop := func(n int) {
		for i := 0; i < n; i++ {
			m, err := Decode("loop.jpg", big)
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
		}
	}
	loop(10)
	runtime.GC()
	before := lanedtest.RSS(t)
	loop(40) // 40 × 2.7 MB of BGR pixels
	runtime.GC()
	if grown := lanedtest.RSS(t) - before; grown > 16<<20 {
		t.Errorf("RSS grew %d bytes over 40 decodes: a Mat leaks", grown)
	}
}

// encWebP encodes img with OpenCV's libwebp (quality > 100: lossless).
func encWebP(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	m, err := gocv.NewMatFromBytes(img.Bounds().Dy(), img.Bounds().Dx(), gocv.MatTypeCV8UC3, ToBGR(img))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.FileExt(".webp"), m, []int{gocv.IMWriteWebpQuality, quality})
	if err != nil {
		t.Skipf("OpenCV cannot encode WebP here: %v", err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// TestDecodeWebP: lossless WebP decodes to the exact pixels, lossy to
// near them; a truncated one is refused as corrupt.
func TestDecodeWebP(t *testing.T) {
	src := testImage(32, 24)
	for _, tc := range []struct {
		name    string
		quality int
		tol     int
	}{{"lossless", 101, 0}, {"lossy", 90, 40}} {
		t.Run(tc.name, func(t *testing.T) {
			data := encWebP(t, src, tc.quality)
			if f := Sniff(data); f != WebP {
				t.Fatalf("sniffed %q", f)
			}
			m, err := Decode("photo.webp", data)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Cols() != 32 || m.Rows() != 24 || m.Type() != gocv.MatTypeCV8UC3 {
				t.Fatalf("decoded %dx%d type %v", m.Cols(), m.Rows(), m.Type())
			}
			for _, p := range []image.Point{{2, 2}, {29, 2}, {2, 21}, {29, 21}} {
				c := src.NRGBAAt(p.X, p.Y)
				if got, want := bgrAt(t, m, p.X, p.Y), [3]int{int(c.B), int(c.G), int(c.R)}; !near(got, want, tc.tol) {
					t.Errorf("pixel %v: %v, want %v ± %d", p, got, want, tc.tol)
				}
			}
			_, err = Decode("cut.webp", data[:len(data)*2/3])
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cut.webp") {
				t.Errorf("truncated WebP: %v, want ErrCorrupt naming the file", err)
			}
		})
	}
}
