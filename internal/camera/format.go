package camera

import (
	"fmt"
	"strings"

	"github.com/blackjack/webcam"
)

// Format is a camera pixel format, or the format of a replayed file.
type Format string

const (
	MJPEG Format = "MJPEG"
	YUYV  Format = "YUYV"
	// PNG and JPEG occur only in replay directories.
	PNG  Format = "PNG"
	JPEG Format = "JPEG"
)

func fourcc(s string) webcam.PixelFormat {
	return webcam.PixelFormat(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
}

// V4L2 pixel format codes laned negotiates.
var (
	FourCCMJPEG = fourcc("MJPG")
	FourCCYUYV  = fourcc("YUYV")
)

// FourCC is the V4L2 code of a capture format, 0 for replay-only formats.
func (f Format) FourCC() webcam.PixelFormat {
	switch f {
	case MJPEG:
		return FourCCMJPEG
	case YUYV:
		return FourCCYUYV
	}
	return 0
}

// FormatOf names a V4L2 code: one laned decodes, or its four characters.
func FormatOf(p webcam.PixelFormat) Format {
	switch p {
	case FourCCMJPEG:
		return MJPEG
	case FourCCYUYV:
		return YUYV
	}
	b := []byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)}
	return Format(strings.TrimRight(string(b), " \x00"))
}

// ParseFormat accepts the names config uses (case-insensitive; MJPG is
// MJPEG, YUY2 is YUYV).
func ParseFormat(s string) (Format, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "MJPEG", "MJPG":
		return MJPEG, nil
	case "YUYV", "YUY2":
		return YUYV, nil
	}
	return "", fmt.Errorf("unknown pixel format %q (want MJPEG or YUYV)", s)
}
