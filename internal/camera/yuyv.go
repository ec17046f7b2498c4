package camera

import "fmt"

// YUYVToBGR converts packed YUYV 4:2:2 (Y0 U Y1 V per two pixels,
// BT.601 limited range, as UVC cameras send it) of a w×h picture with
// the given stride in bytes into dst (len 3*w*h). w must be even.
func YUYVToBGR(dst, src []byte, w, h, stride int) error {
	if w <= 0 || h <= 0 || w%2 != 0 {
		return fmt.Errorf("%w: YUYV size %dx%d", ErrCorrupt, w, h)
	}
	if stride < 2*w || len(src) < stride*(h-1)+2*w {
		return fmt.Errorf("%w: YUYV %dx%d needs %d bytes, got %d", ErrCorrupt, w, h, stride*(h-1)+2*w, len(src))
	}
	if len(dst) < 3*w*h {
		return fmt.Errorf("camera: YUYV destination %d bytes for %dx%d", len(dst), w, h)
	}
	o := 0
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+2*w]
		for i := 0; i+3 < len(row); i += 4 {
			d := int32(row[i+1]) - 128
			e := int32(row[i+3]) - 128
			rv := 409*e + 128
			gv := -100*d - 208*e + 128
			bv := 516*d + 128
			c := 298 * (int32(row[i]) - 16)
			dst[o], dst[o+1], dst[o+2] = clip((c+bv)>>8), clip((c+gv)>>8), clip((c+rv)>>8)
			c = 298 * (int32(row[i+2]) - 16)
			dst[o+3], dst[o+4], dst[o+5] = clip((c+bv)>>8), clip((c+gv)>>8), clip((c+rv)>>8)
			o += 6
		}
	}
	return nil
}

func clip(v int32) byte {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// grow returns b with length n, reusing its array when large enough.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}
