package mjpeg_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/vision/jpegcheck"
	"github.com/laned/laned/internal/vision/mjpeg"
)

// scene is a 4:2:2 picture with gradients, edges and noise, like a lane
// camera's (flat synthetic pictures decode unrealistically fast).
func scene(w, h, noise int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := (x*200)/w + (y*40)/h + rng.IntN(noise)
			if (x/64+y/64)%5 == 0 {
				v = 255 - v
			}
			img.Y[img.YOffset(x, y)] = byte(min(255, v))
		}
	}
	for i := range img.Cb {
		img.Cb[i] = byte(100 + rng.IntN(30))
		img.Cr[i] = byte(130 + rng.IntN(30))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestDecodeWithoutDHT(t *testing.T) {
	full := scene(640, 480, 24)
	bare, err := jpegcheck.StripDHT(full)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := jpegcheck.Check(bare); info.HasDHT {
		t.Fatal("stripped frame still has DHT")
	}
	var d mjpeg.Decoder
	var a, b, g frame.Frame
	if err := d.Decode(&a, full, camera.MJPEG); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(&b, bare, camera.MJPEG); err != nil {
		t.Fatalf("frame without DHT: %v", err)
	}
	if !bytes.Equal(a.Pix, b.Pix) || a.Width != 640 || a.Height != 480 {
		t.Fatal("frame without DHT decodes differently from the same frame with the standard tables")
	}
	// The Go reference decoder agrees within rounding of IDCT and chroma
	// upsampling.
	if err := (camera.GoDecoder{}).Decode(&g, bare, camera.MJPEG); err != nil {
		t.Fatal(err)
	}
	var sum, worst int
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(g.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
		worst = max(worst, d)
	}
	mean := float64(sum) / float64(len(a.Pix))
	t.Logf("OpenCV vs image/jpeg: mean |Δ| %.3f, max %d", mean, worst)
	if mean > 3 {
		t.Errorf("OpenCV and image/jpeg differ by %.2f on average", mean)
	}
}

func TestCorruptRefused(t *testing.T) {
	good, _ := jpegcheck.StripDHT(scene(320, 240, 24))
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated half", good[:len(good)/2]},
		{"truncated before EOI", good[:len(good)-2]},
		{"no SOI", good[2:]},
		{"segment length past end", mut(func(b []byte) []byte { b[4], b[5] = 0xFF, 0xF0; return b })},
		{"stray marker in scan", mut(func(b []byte) []byte { b[len(b)-100], b[len(b)-99] = 0xFF, 0xC0; return b })},
		{"zero size", mut(func(b []byte) []byte {
			info, _ := jpegcheck.Check(b)
			_ = info
			i := bytes.Index(b, []byte{0xFF, 0xC0})
			b[i+5], b[i+6] = 0, 0
			return b
		})},
		{"png garbage", []byte("\x89PNG\r\n\x1a\nxxxx")},
	}
	var d mjpeg.Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f frame.Frame
			format := camera.MJPEG
			if bytes.HasPrefix(tt.data, []byte("\x89PNG")) {
				format = camera.PNG
			}
			if err := d.Decode(&f, tt.data, format); !errors.Is(err, camera.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func benchFrame(b *testing.B, noise int) []byte {
	data, err := jpegcheck.StripDHT(scene(1920, 1080, noise))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecode1080p compares decode+convert to BGR of one 1920×1080
// UVC MJPEG frame (no DHT) by OpenCV/libjpeg-turbo and by image/jpeg.
//
// noise=4 is a lit lane scene with sensor noise (about 150 KB a frame,
// typical of a 1080p UVC camera at its default quality); noise=24 is a
// grainy dark-lane frame at high gain (about 530 KB), the worst case.
func BenchmarkDecode1080p(b *testing.B) {
	for _, noise := range []int{4, 24} {
		data := benchFrame(b, noise)
		for _, c := range []struct {
			name string
			dec  camera.Decoder
		}{{"turbojpeg", &mjpeg.Decoder{}}, {"opencv-imdecode", &mjpeg.Decoder{OpenCV: true}}, {"gocv-imdecode-copy", gocvCopy{}}, {"go-image-jpeg", camera.GoDecoder{}}} {
			b.Run(fmt.Sprintf("noise=%d/%dKB/%s", noise, len(data)>>10, c.name), func(b *testing.B) {
				var f frame.Frame
				b.SetBytes(int64(len(data)))
				// CPU time per frame as well as wall time: the machine is
				// shared, and CPU time is what a booth's core would spend.
				cpu0 := lanedtest.CPUTime(b)
				defer func() {
					b.ReportMetric(float64(lanedtest.CPUTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
				}()
				for b.Loop() {
					if err := c.dec.Decode(&f, data, camera.MJPEG); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// gocvCopy is the obvious gocv path (IMDecode into a new Mat, copy out),
// the peer the in-place decoder is measured against.
type gocvCopy struct{}

func (gocvCopy) Decode(dst *frame.Frame, src []byte, _ camera.Format) error {
	data, _, _, err := jpegcheck.Prepare(src, nil)
	if err != nil {
		return err
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return err
	}
	defer m.Close()
	px, err := m.DataPtrUint8()
	if err != nil {
		return err
	}
	dst.Pix = append(dst.Pix[:0], px...)
	dst.Width, dst.Height = m.Cols(), m.Rows()
	return nil
}

func TestTurboMatchesOpenCV(t *testing.T) {
	bare, _ := jpegcheck.StripDHT(scene(640, 480, 24))
	var a, b frame.Frame
	if err := (&mjpeg.Decoder{}).Decode(&a, bare, camera.MJPEG); err != nil {
		t.Fatal(err)
	}
	if err := (&mjpeg.Decoder{OpenCV: true}).Decode(&b, bare, camera.MJPEG); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Pix, b.Pix) {
		var diff int
		for i := range a.Pix {
			if a.Pix[i] != b.Pix[i] {
				diff++
			}
		}
		t.Errorf("TurboJPEG and OpenCV differ in %d of %d bytes", diff, len(a.Pix))
	}
}

// A scan cut short but closed with an EOI (lost USB packets, a camera
// that pads its buffer) passes jpegcheck; libjpeg-turbo's warning
// ("premature end of data segment") refuses it rather than delivering a
// half-grey frame. Random damage inside the scan often decodes without a
// warning (JPEG has no checksum): those frames are logged, not asserted.
func TestCorruptScanDataRefused(t *testing.T) {
	good, _ := jpegcheck.StripDHT(scene(320, 240, 24))
	info, _ := jpegcheck.Check(good)
	for _, cut := range []float64{0.3, 0.6, 0.9} {
		at := info.SOS + int(float64(info.End-info.SOS)*cut)
		bad := append(append([]byte(nil), good[:at]...), 0xFF, 0xD9)
		if bad[at-1] == 0xFF {
			bad[at-1] = 0x00
		}
		if _, err := jpegcheck.Check(bad); err != nil {
			t.Fatalf("cut at %.0f%%: jpegcheck already refuses it (%v); the test needs a stream it passes", cut*100, err)
		}
		var f frame.Frame
		if err := (&mjpeg.Decoder{}).Decode(&f, bad, camera.MJPEG); !errors.Is(err, camera.ErrCorrupt) {
			t.Errorf("scan cut at %.0f%% with EOI: err = %v, want ErrCorrupt", cut*100, err)
		}
	}
	refused, passed := 0, 0
	for k := 0; k < 20; k++ {
		bad := append([]byte(nil), good...)
		at := info.SOS + 400 + k*97
		for i := at; i < at+64; i++ {
			bad[i] = byte(0x11 * (i % 7))
		}
		if _, err := jpegcheck.Check(bad); err != nil {
			continue
		}
		passed++
		var f frame.Frame
		if err := (&mjpeg.Decoder{}).Decode(&f, bad, camera.MJPEG); err != nil {
			refused++
		}
	}
	t.Logf("random damage: %d of %d structurally valid frames refused by the decoder", refused, passed)
}
