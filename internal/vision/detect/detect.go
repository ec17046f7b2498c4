package detect

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"slices"
	"sync"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/onednn"
)

// Options tune the detector. The zero value means the documented defaults.
type Options struct {
	// Model is the BlazeFace variant; default Back.
	Model Model
	// MinScore is the lowest confidence (after the sigmoid) a face must
	// have to be reported; default DefaultMinScore.
	MinScore float32
	// BlendIoU is the overlap at which candidates are merged by the
	// weighted blending; default 0.3, MediaPipe's value.
	BlendIoU float32
	// MinFace is the smallest face side, in image pixels, that Detect must
	// find. When the full-frame pass cannot resolve faces that small (the
	// network sees the frame at 256 px), Detect adds a pass over
	// overlapping tiles. 0 means DefaultMinFace; a negative value turns
	// tiling off (full-frame pass only). The resolution limit was measured
	// for the back model and is assumed for the front one (which sees the
	// frame at 128 px, so it tiles a 640×480 frame at the default).
	MinFace int
	// MaxTiles caps the number of tiles per image (cost control for very
	// large frames); default 16. When the cap is hit the tiles grow, and
	// the smallest faces found grow with them.
	MaxTiles int
	// Engine runs the network: "" or vision.EngineOneDNN (default), or
	// vision.EngineOpenCV (the reference).
	Engine vision.Engine
}

const (
	// DefaultMinScore was tuned on pascal-faces/training.xml, native and
	// pasted into 640–1920 px frames (TestSmallFacesInLargeFrames): 0.7
	// loses recall (0.83 at native size), 0.5 and below add false
	// positives in tiled frames (0.5 per image at 1920 px), 0.6 has
	// neither.
	DefaultMinScore = 0.6
	// DefaultMinFace is the face side in pixels down to which Detect
	// searches by default.
	DefaultMinFace = 36
	// minModelFace is the smallest face side, in network input pixels, that
	// the back model finds reliably, in labelled-box (dlib) terms: measured
	// recall 0.98 at 14–16 px, 0.91 at 10–14 px, 0.77 at 8–10 px over
	// pascal-faces in frames of 500–1920 px (TestMinModelFace).
	minModelFace = 14
)

func (o Options) withDefaults() Options {
	if o.Model == "" {
		o.Model = Back
	}
	if o.MinScore == 0 {
		o.MinScore = DefaultMinScore
	}
	if o.BlendIoU == 0 {
		o.BlendIoU = 0.3
	}
	if o.MinFace == 0 {
		o.MinFace = DefaultMinFace
	}
	if o.MaxTiles == 0 {
		o.MaxTiles = 16
	}
	if o.Engine == "" {
		o.Engine = vision.EngineOneDNN
	}
	return o
}

// outputNames are BlazeFace's outputs: scores of the 16×16 and 8×8 grids'
// anchors, then their box and keypoint regressors.
var outputNames = [4]string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"}

// Detector runs BlazeFace. It is safe for concurrent use: calls to Detect
// are serialised (an OpenCV Net is not goroutine-safe).
type Detector struct {
	opts Options
	side int
	path string

	mu     sync.Mutex
	net    gocv.Net    // EngineOpenCV
	dnn    *onednn.Net // EngineOneDNN
	outIdx [4]int      // where dnn returns each of outputNames
	closed bool
	// scratch Mats reused between passes
	resized, padded, rgb, fl, blob gocv.Mat
	pyr                            []gocv.Mat // pyrDown levels 1, 2, … of the current image
	levels                         []gocv.Mat // the current image's levels: 0 is the image itself
	cands                          []candidate
}

// Open verifies and loads the model named by opts.Model from modelDir (the
// model cache, e.g. models/cache).
func Open(modelDir string, opts Options) (*Detector, error) {
	opts = opts.withDefaults()
	if !(opts.MinScore > 0 && opts.MinScore < 1) {
		return nil, fmt.Errorf("detect: min score %v out of (0,1)", opts.MinScore)
	}
	if !(opts.BlendIoU > 0 && opts.BlendIoU <= 1) {
		return nil, fmt.Errorf("detect: blend iou %v out of (0,1]", opts.BlendIoU)
	}
	path, err := ModelPath(modelDir, opts.Model)
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	mf := modelFiles[opts.Model]
	if err := verifyModel(path, mf); err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	d := &Detector{
		opts:    opts,
		side:    mf.Size,
		path:    path,
		resized: gocv.NewMat(),
		padded:  gocv.NewMat(),
		rgb:     gocv.NewMat(),
		fl:      gocv.NewMat(),
		blob:    gocv.NewMatWithSizes([]int{1, mf.Size, mf.Size, 3}, gocv.MatTypeCV32F),
	}
	var err2 error
	switch opts.Engine {
	case vision.EngineOpenCV:
		d.net = gocv.ReadNetFromONNX(path)
		if d.net.Empty() {
			err2 = fmt.Errorf("opencv could not load model file %s", path)
			break
		}
		d.net.SetPreferableBackend(gocv.NetBackendOpenCV)
		d.net.SetPreferableTarget(gocv.NetTargetCPU)
	case vision.EngineOneDNN:
		d.dnn, d.outIdx, err2 = openOneDNN(path, mf.Size)
	default:
		_, err2 = vision.ParseEngine(string(opts.Engine))
	}
	if err2 != nil {
		d.Close()
		return nil, fmt.Errorf("detect: %w", err2)
	}
	return d, nil
}

// openOneDNN loads the (already verified) model file on oneDNN and finds
// BlazeFace's four outputs.
func openOneDNN(path string, side int) (*onednn.Net, [4]int, error) {
	var idx [4]int
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, idx, fmt.Errorf("read model file: %w", err)
	}
	n, err := onednn.Parse(data)
	if err != nil {
		return nil, idx, fmt.Errorf("model file %s: %w", path, err)
	}
	names := n.OutputNames()
	for i, want := range outputNames {
		if idx[i] = slices.Index(names, want); idx[i] < 0 {
			n.Close()
			return nil, idx, fmt.Errorf("model file %s has no output %q", path, want)
		}
	}
	if !slices.Equal(n.InputShape(), []int64{1, int64(side), int64(side), 3}) {
		n.Close()
		return nil, idx, fmt.Errorf("model file %s takes %v, want [1 %d %d 3]", path, n.InputShape(), side, side)
	}
	return n, idx, nil
}

// Options returns the options in effect, defaults filled in.
func (d *Detector) Options() Options { return d.opts }

// Close frees the network and scratch memory. It is idempotent.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	for _, m := range []*gocv.Mat{&d.resized, &d.padded, &d.rgb, &d.fl, &d.blob} {
		m.Close()
	}
	for i := range d.pyr {
		d.pyr[i].Close()
	}
	d.levels = nil
	if d.dnn != nil {
		d.dnn.Close()
	}
	if d.opts.Engine == vision.EngineOpenCV {
		return d.net.Close()
	}
	return nil
}

// ErrClosed is returned by Detect after Close.
var ErrClosed = errors.New("detect: detector closed")

// Detect finds faces in img, an 8-bit BGR image (CV_8UC3), and returns
// them by descending score, boxes and landmarks in img's pixels.
func (d *Detector) Detect(img gocv.Mat) ([]vision.Face, error) {
	if img.Empty() {
		return nil, errors.New("detect: empty image")
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("detect: image type %v, want 8-bit BGR (CV_8UC3)", img.Type())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	w, h := img.Cols(), img.Rows()
	d.levels = append(d.levels[:0], img)
	defer func() { d.levels = d.levels[:0] }() // do not keep the caller's image
	all := d.cands[:0]
	full := image.Rect(0, 0, w, h)
	tiles := d.tiles(w, h)
	var err error
	if all, err = d.pass(all, full, full); err != nil {
		return nil, err
	}
	if len(tiles) > 0 {
		// The full pass localises faces near its resolution limit poorly
		// (measured: such boxes overlap the tile's box of the same face by
		// less than the blend IoU, and count twice). Faces that small are
		// the tiles' job: drop them from the full pass.
		lim := float32(d.fullMin(w, h))
		kept := all[:0]
		for _, c := range all {
			if max(c.g[2], c.g[3]) >= lim {
				kept = append(kept, c)
			}
		}
		all = kept
	}
	for _, t := range tiles {
		if all, err = d.pass(all, t, full); err != nil {
			return nil, err
		}
	}
	d.cands = all
	merged := suppressContained(blend(all, d.opts.BlendIoU), containedFrac)
	faces := make([]vision.Face, 0, len(merged))
	for i := range merged {
		if merged[i].score >= d.opts.MinScore {
			faces = append(faces, merged[i].toFace())
		}
	}
	return faces, nil
}

// tiles returns the tile rectangles for a w×h image, none when the
// full-frame pass already resolves faces of opts.MinFace.
func (d *Detector) tiles(w, h int) []image.Rectangle {
	if d.opts.MinFace < 0 {
		return nil
	}
	long := max(w, h)
	fullMin := d.fullMin(w, h)
	if fullMin <= float64(d.opts.MinFace) {
		return nil
	}
	// A tile of side t resolves faces of minModelFace*t/side; tiles overlap
	// by more than the largest face the full pass may miss, so each such
	// face lies whole in some tile.
	t := int(math.Ceil(float64(d.opts.MinFace) * float64(d.side) / minModelFace))
	overlap := int(math.Ceil(fullMin * 1.2))
	for {
		overlap = min(overlap, t/2)
		nx, ny := tileCount(w, t, overlap), tileCount(h, t, overlap)
		if nx*ny <= d.opts.MaxTiles {
			break
		}
		t = t * 5 / 4
	}
	if t >= long {
		return nil
	}
	var out []image.Rectangle
	for _, y := range tileStarts(h, t, overlap) {
		for _, x := range tileStarts(w, t, overlap) {
			out = append(out, image.Rect(x, y, min(x+t, w), min(y+t, h)))
		}
	}
	return out
}

// fullMin is the smallest face side, in image pixels, that the full-frame
// pass finds in a w×h image.
func (d *Detector) fullMin(w, h int) float64 {
	return float64(minModelFace) * float64(max(w, h)) / float64(d.side)
}

func tileCount(n, t, overlap int) int {
	if n <= t {
		return 1
	}
	stride := t - overlap
	return 1 + (n-t+stride-1)/stride
}

// tileStarts spreads tileCount tiles evenly so that the first starts at 0
// and the last ends at n.
func tileStarts(n, t, overlap int) []int {
	k := tileCount(n, t, overlap)
	if k == 1 {
		return []int{0}
	}
	s := make([]int, k)
	for i := range s {
		s[i] = i * (n - t) / (k - 1)
	}
	return s
}

// level returns the image halved k times by pyrDown (a 5×5 Gaussian, so
// no aliasing), computing the levels once per Detect call: the full pass
// and every tile cut their pixels from the same pyramid.
func (d *Detector) level(k int) gocv.Mat {
	for len(d.levels) <= k {
		i := len(d.levels)
		if len(d.pyr) < i {
			d.pyr = append(d.pyr, gocv.NewMat())
		}
		gocv.PyrDown(d.levels[i-1], &d.pyr[i-1], image.Pt(0, 0), gocv.BorderReflect101)
		d.levels = append(d.levels, d.pyr[i-1])
	}
	return d.levels[k]
}

// pass runs the network on region r of the image being detected (levels[0]) (letterboxed into the network's
// square input) and appends the candidates in img pixels. For a tile
// (r != full) candidates whose box crosses an inner tile edge are dropped:
// the overlapping neighbour tile or the full pass sees that face whole.
// So are large candidates (see tileMax).
func (d *Detector) pass(dst []candidate, r, full image.Rectangle) ([]candidate, error) {
	// Shrinking by more than 2: take the region from the pyramid level
	// that leaves a factor below 2, then finish with a linear resize.
	// Measured on a 640×480 frame: 0.3 ms, against 1.6 ms for INTER_AREA;
	// a linear resize alone (0.16 ms) aliases and lost recall (0.89 vs
	// 0.94 on training.xml in 640×480 frames).
	k := 0
	for max(r.Dx(), r.Dy())>>k >= 2*d.side {
		k++
	}
	lv := d.level(k)
	// r at level k, grown to whole level pixels; seen is what the network
	// sees, in image pixels.
	rk := image.Rect(r.Min.X>>k, r.Min.Y>>k, (r.Max.X+1<<k-1)>>k, (r.Max.Y+1<<k-1)>>k).
		Intersect(image.Rect(0, 0, lv.Cols(), lv.Rows()))
	if rk.Empty() {
		return dst, nil
	}
	rw, rh := rk.Dx(), rk.Dy()
	scale := float64(d.side) / float64(max(rw, rh))
	nw := max(1, min(d.side, int(math.Round(float64(rw)*scale))))
	nh := max(1, min(d.side, int(math.Round(float64(rh)*scale))))
	src := lv
	if rk != image.Rect(0, 0, lv.Cols(), lv.Rows()) {
		region := lv.Region(rk)
		defer region.Close()
		src = region
	}
	gocv.Resize(src, &d.resized, image.Pt(nw, nh), 0, 0, gocv.InterpolationLinear)
	gocv.CopyMakeBorder(d.resized, &d.padded, 0, d.side-nh, 0, d.side-nw, gocv.BorderConstant, color.RGBA{})
	gocv.CvtColor(d.padded, &d.rgb, gocv.ColorBGRToRGB)
	d.rgb.ConvertToWithParams(&d.fl, gocv.MatTypeCV32FC3, 1/127.5, -1)
	src32, err := d.fl.DataPtrFloat32()
	if err != nil {
		return dst, fmt.Errorf("detect: preprocess: %w", err)
	}
	blob, err := d.blob.DataPtrFloat32()
	if err != nil {
		return dst, fmt.Errorf("detect: preprocess: %w", err)
	}
	copy(blob, src32)
	var raw [4][]float32
	if d.dnn != nil {
		outs, err := d.dnn.ForwardAll(blob)
		if err != nil {
			return dst, fmt.Errorf("detect: %w", err)
		}
		for i, j := range d.outIdx {
			raw[i] = outs[j]
		}
	} else {
		d.net.SetInput(d.blob, "")
		outs := d.net.ForwardLayers(outputNames[:])
		defer func() {
			for i := range outs {
				outs[i].Close()
			}
		}()
		if len(outs) != 4 {
			return dst, fmt.Errorf("detect: model %s gave %d outputs, want 4", d.path, len(outs))
		}
		for i := range outs {
			if raw[i], err = outs[i].DataPtrFloat32(); err != nil {
				return dst, fmt.Errorf("detect: read output %d: %w", i, err)
			}
		}
	}
	n1, n2 := 16*16*2, 8*8*6
	if len(raw[0]) != n1 || len(raw[1]) != n2 || len(raw[2]) != n1*16 || len(raw[3]) != n2*16 {
		return dst, fmt.Errorf("detect: model %s output shapes do not match blazeface", d.path)
	}
	scores := append(append(make([]float32, 0, numAnchors), raw[0]...), raw[1]...)
	boxes := append(append(make([]float32, 0, numAnchors*16), raw[2]...), raw[3]...)
	// Candidates well below MinScore cannot reach it by blending (the blend
	// keeps the best score), so decode at MinScore.
	start := len(dst)
	dst = decode(dst, scores, boxes, d.side, d.opts.MinScore)
	// normalised input square → image pixels
	kk := float32(max(rw, rh) << k)
	ox, oy := float32(rk.Min.X<<k), float32(rk.Min.Y<<k)
	// Tiles keep faces up to twice the full pass's limit, and at most half
	// the tile: larger faces are the full pass's job (its recall there is
	// 1.0), and tiles cutting through large structures produced false
	// positives (sample1.jpg: a 329 px box on background clutter).
	tileMax := min(float32(max(r.Dx(), r.Dy()))/2, 2*float32(d.fullMin(full.Dx(), full.Dy())))
	kept := dst[:start]
	for _, c := range dst[start:] {
		for j := 0; j < 16; j += 2 {
			if j == 2 { // width, height: scale only
				c.g[2] *= kk
				c.g[3] *= kk
				continue
			}
			c.g[j] = c.g[j]*kk + ox
			c.g[j+1] = c.g[j+1]*kk + oy
		}
		if r != full && (crossesInnerEdge(c.box(), r, full) || max(c.g[2], c.g[3]) > tileMax) {
			continue
		}
		kept = append(kept, c)
	}
	return kept, nil
}

// crossesInnerEdge reports whether b sticks out of tile r on a side where r
// is not at the image border.
func crossesInnerEdge(b vision.Box, r, full image.Rectangle) bool {
	return (r.Min.X > full.Min.X && b.X0 < float32(r.Min.X)) ||
		(r.Min.Y > full.Min.Y && b.Y0 < float32(r.Min.Y)) ||
		(r.Max.X < full.Max.X && b.X1 > float32(r.Max.X)) ||
		(r.Max.Y < full.Max.Y && b.Y1 > float32(r.Max.Y))
}
