package mjpeg

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "decode.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/jpegcheck"
)

// Decoder implements camera.Decoder with OpenCV. The zero value is
// ready; it is safe for concurrent use (a camera's capture loop is the
// only caller in the daemon, so the scratch pool rarely holds more than
// one buffer per camera).
type Decoder struct {
	scratch sync.Pool // *[]byte for DHT insertion
}

var _ camera.Decoder = (*Decoder)(nil)

// Decode implements camera.Decoder.
func (d *Decoder) Decode(dst *frame.Frame, src []byte, f camera.Format) error {
	switch f {
	case camera.YUYV:
		return camera.GoDecoder{}.Decode(dst, src, f)
	case camera.MJPEG, camera.JPEG:
		bp, _ := d.scratch.Get().(*[]byte)
		if bp == nil {
			bp = new([]byte)
		}
		defer d.scratch.Put(bp)
		data, info, grown, err := jpegcheck.Prepare(src, *bp)
		*bp = grown
		if err != nil {
			return fmt.Errorf("%w: %v", camera.ErrCorrupt, err)
		}
		return decodeInto(dst, data, info.Width, info.Height)
	case camera.PNG:
		h, err := imageio.CheckHeader("frame", src)
		if err != nil || h.Format != imageio.PNG {
			return fmt.Errorf("%w: %v", camera.ErrCorrupt, err)
		}
		return decodeInto(dst, src, h.Width, h.Height)
	}
	return fmt.Errorf("mjpeg: cannot decode %s", f)
}

// decodeInto runs cv::imdecode on checked data straight into dst.Pix
// (reused across frames: no per-frame 6 MB allocation, page faults or
// copy). No Mat outlives the call; OpenCV exceptions are caught in C++.
func decodeInto(dst *frame.Frame, data []byte, w, h int) error {
	if len(data) == 0 || w <= 0 || h <= 0 {
		return fmt.Errorf("%w: empty frame", camera.ErrCorrupt)
	}
	n := 3 * w * h
	if cap(dst.Pix) >= n {
		dst.Pix = dst.Pix[:n]
	} else {
		dst.Pix = make([]byte, n)
	}
	rc := C.laned_imdecode_bgr((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)),
		(*C.uchar)(unsafe.Pointer(&dst.Pix[0])), C.int(w), C.int(h))
	switch rc {
	case 0:
		dst.Width, dst.Height = w, h
		return nil
	case -2:
		return fmt.Errorf("%w: OpenCV decoded another size than the header's %dx%d", camera.ErrCorrupt, w, h)
	case -3:
		return fmt.Errorf("%w: OpenCV decoded nothing", camera.ErrCorrupt)
	}
	return fmt.Errorf("%w: OpenCV refused the %dx%d frame", camera.ErrCorrupt, w, h)
}
