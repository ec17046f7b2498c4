package mjpeg

/*
#cgo !windows pkg-config: opencv4 libturbojpeg
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "decode.h"
#include "turbo.h"
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

// Decoder implements camera.Decoder: JPEG with libjpeg-turbo's TurboJPEG
// API (straight into the frame's buffer as BGR), PNG with OpenCV. The
// zero value is ready; it is safe for concurrent use (each concurrent
// caller gets its own TurboJPEG handle from a small free list). Close
// releases the handles.
type Decoder struct {
	scratch sync.Pool // *[]byte for DHT insertion

	mu      sync.Mutex
	handles []C.tjhandle
	// OpenCV makes Decode use cv::imdecode for JPEG too (the reference
	// the TurboJPEG path is benchmarked against).
	OpenCV bool
}

func (d *Decoder) handle() (C.tjhandle, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.handles); n > 0 {
		h := d.handles[n-1]
		d.handles = d.handles[:n-1]
		return h, nil
	}
	h := C.tjInitDecompress()
	if h == nil {
		return nil, fmt.Errorf("mjpeg: TurboJPEG: %s", C.GoString(C.tjGetErrorStr2(nil)))
	}
	return h, nil
}

func (d *Decoder) put(h C.tjhandle) {
	d.mu.Lock()
	d.handles = append(d.handles, h)
	d.mu.Unlock()
}

// Close frees the TurboJPEG handles; the Decoder stays usable.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range d.handles {
		C.tjDestroy(h)
	}
	d.handles = nil
	return nil
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
		if d.OpenCV {
			return decodeInto(dst, data, info.Width, info.Height)
		}
		return d.turbo(dst, data, info.Width, info.Height)
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

// turbo decodes checked JPEG data with TurboJPEG into dst.Pix (reused).
func (d *Decoder) turbo(dst *frame.Frame, data []byte, w, h int) error {
	if len(data) == 0 || w <= 0 || h <= 0 {
		return fmt.Errorf("%w: empty frame", camera.ErrCorrupt)
	}
	n := 3 * w * h
	if cap(dst.Pix) >= n {
		dst.Pix = dst.Pix[:n]
	} else {
		dst.Pix = make([]byte, n)
	}
	th, err := d.handle()
	if err != nil {
		return err
	}
	defer d.put(th)
	var msg [200]C.char
	rc := C.laned_tj_decode(th, (*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)),
		(*C.uchar)(unsafe.Pointer(&dst.Pix[0])), C.int(w), C.int(h), &msg[0], C.int(len(msg)))
	if rc != 0 {
		return fmt.Errorf("%w: libjpeg-turbo: %s", camera.ErrCorrupt, C.GoString(&msg[0]))
	}
	dst.Width, dst.Height = w, h
	return nil
}
