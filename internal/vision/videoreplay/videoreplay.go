package videoreplay

import (
	"fmt"
	"io"
	"os"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
)

// MaxSide bounds the frame size a container may declare.
const MaxSide = 1 << 14

type reader struct {
	vc  *gocv.VideoCapture
	mat gocv.Mat
	w   int
	h   int
}

// Open returns a Player over the video file at cfg.Replay. A file that
// is missing, not regular, or that OpenCV cannot open is refused with the
// config key.
func Open(cfg camera.Config, opt camera.ReplayOptions) (*camera.Player, error) {
	key := cfg.Key
	if key == "" {
		key = "camera"
	}
	bad := func(format string, a ...any) error {
		return &camera.FieldError{Key: key + ".replay", Camera: cfg.Name, Device: cfg.Replay, Msg: fmt.Sprintf(format, a...)}
	}
	st, err := os.Stat(cfg.Replay)
	if err != nil {
		return nil, bad("%v", err)
	}
	if !st.Mode().IsRegular() {
		return nil, bad("not a regular file")
	}
	vc, err := gocv.VideoCaptureFile(cfg.Replay)
	if err != nil {
		return nil, bad("OpenCV cannot open it: %v", err)
	}
	if !vc.IsOpened() {
		vc.Close()
		return nil, bad("OpenCV cannot open it")
	}
	w, h := int(vc.Get(gocv.VideoCaptureFrameWidth)), int(vc.Get(gocv.VideoCaptureFrameHeight))
	if w <= 0 || h <= 0 || w > MaxSide || h > MaxSide {
		vc.Close()
		return nil, bad("declares %dx%d frames", w, h)
	}
	if cfg.FPS == 0 {
		if fps := vc.Get(gocv.VideoCaptureFPS); fps >= 1 && fps <= 240 {
			cfg.FPS = fps
		}
	}
	r := &reader{vc: vc, mat: gocv.NewMat(), w: w, h: h}
	p, err := camera.NewPlayer(cfg, opt, r, cfg.Replay)
	if err != nil {
		r.Close()
		return nil, err
	}
	return p, nil
}

func (r *reader) Read(dst *frame.Frame) error {
	if r.vc == nil || !r.vc.Read(&r.mat) || r.mat.Empty() {
		return io.EOF
	}
	if r.mat.Type() != gocv.MatTypeCV8UC3 || r.mat.Cols() != r.w || r.mat.Rows() != r.h {
		return fmt.Errorf("%w: video frame %dx%d type %v, stream %dx%d", camera.ErrCorrupt, r.mat.Cols(), r.mat.Rows(), r.mat.Type(), r.w, r.h)
	}
	px, err := r.mat.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("%w: %v", camera.ErrCorrupt, err)
	}
	n := 3 * r.w * r.h
	if cap(dst.Pix) < n {
		dst.Pix = make([]byte, n)
	}
	dst.Pix = dst.Pix[:n]
	copy(dst.Pix, px[:n])
	dst.Width, dst.Height = r.w, r.h
	return nil
}

func (r *reader) Close() error {
	if r.vc != nil {
		r.vc.Close()
		r.mat.Close()
		r.vc = nil
	}
	return nil
}
