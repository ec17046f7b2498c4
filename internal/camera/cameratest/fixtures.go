package cameratest

import (
	"bytes"
	"image"
	"image/jpeg"

	"github.com/blackjack/webcam"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/vision/jpegcheck"
)

// Pattern is the default payload: YUYV with a luma ramp that moves with
// seq and fixed chroma, or an MJPEG frame without Huffman tables (as UVC
// cameras send) of a similar picture.
func Pattern(seq uint64, m Mode) []byte {
	switch m.Format {
	case camera.YUYV:
		out := make([]byte, 2*m.Width*m.Height)
		for y := 0; y < m.Height; y++ {
			for x := 0; x < m.Width; x += 2 {
				i := 2 * (y*m.Width + x)
				out[i] = byte(16 + (x+y+int(seq))%200)
				out[i+1] = 100
				out[i+2] = byte(16 + (x+1+y+int(seq))%200)
				out[i+3] = 150
			}
		}
		return out
	default:
		return JPEG(m.Width, m.Height, int(seq), false)
	}
}

// JPEG encodes a w×h test picture (a gradient and a block at a position
// set by k) with image/jpeg; withDHT false strips the Huffman tables as a
// UVC camera does.
func JPEG(w, h, k int, withDHT bool) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Y[img.YOffset(x, y)] = byte((x*255/max(1, w-1) + y) / 2)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 110, 140
	}
	bx := (k * 7) % max(1, w-w/8)
	for y := h / 3; y < h/3+h/6; y++ {
		for x := bx; x < bx+w/8 && x < w; x++ {
			img.Y[img.YOffset(x, y)] = 235
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		panic(err)
	}
	if withDHT {
		return buf.Bytes()
	}
	out, err := jpegcheck.StripDHT(buf.Bytes())
	if err != nil {
		panic(err)
	}
	return out
}

// Webcam returns a typical USB camera: MJPEG up to 1920x1080@30 and
// YUYV 640x480@30, with exposure, gain, white balance, focus and
// power-line controls.
func Webcam(name string) *Device {
	return &Device{
		Name: name,
		Modes: []Mode{
			{camera.MJPEG, 1920, 1080, 30}, {camera.MJPEG, 1280, 720, 30}, {camera.MJPEG, 640, 480, 30},
			{camera.YUYV, 640, 480, 30},
		},
		Controls: DefaultControls(),
	}
}

// DefaultControls is the control set Webcam has.
func DefaultControls() map[webcam.ControlID]*Control {
	mk := func(name string, lo, hi, step, v int32) *Control {
		return &Control{Control: webcam.Control{Name: name, Min: lo, Max: hi, Step: step, Type: 1}, Value: v}
	}
	id := func(n string) webcam.ControlID {
		i, ok := camera.ControlID(n)
		if !ok {
			panic(n)
		}
		return i
	}
	return map[webcam.ControlID]*Control{
		id("auto_exposure"):              mk("Auto Exposure", 0, 3, 1, 3),
		id("exposure_time_absolute"):     mk("Exposure Time, Absolute", 3, 2047, 1, 250),
		id("gain"):                       mk("Gain", 0, 255, 1, 0),
		id("white_balance_automatic"):    mk("White Balance, Automatic", 0, 1, 1, 1),
		id("white_balance_temperature"):  mk("White Balance Temperature", 2000, 6500, 10, 4000),
		id("focus_automatic_continuous"): mk("Focus, Automatic Continuous", 0, 1, 1, 1),
		id("focus_absolute"):             mk("Focus (absolute)", 0, 250, 5, 0),
		id("power_line_frequency"):       mk("Power Line Frequency", 0, 2, 1, 2),
	}
}
