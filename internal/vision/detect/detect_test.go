package detect

import (
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/vision"
)

func TestDecodeAnchor(t *testing.T) {
	scores := make([]float32, numAnchors)
	boxes := make([]float32, numAnchors*16)
	for i := range scores {
		scores[i] = -10
	}
	// anchor 0 of cell (x=3, y=5) of the 16×16 layer: index (5*16+3)*2
	i := (5*16 + 3) * 2
	scores[i] = 2 // sigmoid 0.881
	r := boxes[i*16:]
	r[0], r[1], r[2], r[3] = 8, -4, 64, 32 // centre offset, size (input px)
	for k := 0; k < 6; k++ {
		r[4+2*k], r[5+2*k] = float32(k), float32(-k)
	}
	// first anchor of the 8×8 layer's last cell, below threshold
	scores[numAnchors-6] = -1
	got := decode(nil, scores, boxes, 256, 0.5)
	if len(got) != 1 {
		t.Fatalf("decoded %d candidates, want 1", len(got))
	}
	c := got[0]
	ax, ay := (3+0.5)/16.0, (5+0.5)/16.0
	want := []float64{ax + 8.0/256, ay - 4.0/256, 64.0 / 256, 32.0 / 256}
	for k := 0; k < 6; k++ {
		want = append(want, ax+float64(k)/256, ay-float64(k)/256)
	}
	for k, w := range want {
		if math.Abs(float64(c.g[k])-w) > 1e-6 {
			t.Errorf("g[%d] = %v, want %v", k, c.g[k], w)
		}
	}
	if math.Abs(float64(c.score)-0.8807971) > 1e-6 {
		t.Errorf("score %v", c.score)
	}
	// the 8×8 layer starts after 512 anchors, 6 per cell
	scores[numAnchors-6] = 3
	got = decode(nil, scores, boxes, 256, 0.5)
	if len(got) != 2 || math.Abs(float64(got[1].g[0])-(7.5/8)) > 1e-6 || math.Abs(float64(got[1].g[1])-(7.5/8)) > 1e-6 {
		t.Errorf("8x8 layer anchor decoded at %v", got[1].g[:2])
	}
}

func TestBlend(t *testing.T) {
	mk := func(cx, cy, s, score float32) candidate {
		c := candidate{score: score}
		c.g[0], c.g[1], c.g[2], c.g[3] = cx, cy, s, s
		for k := 0; k < 6; k++ {
			c.g[4+2*k], c.g[5+2*k] = cx, cy
		}
		return c
	}
	cs := []candidate{mk(100, 100, 40, 0.6), mk(104, 100, 40, 0.9), mk(300, 300, 40, 0.7)}
	out := blend(cs, 0.3)
	if len(out) != 2 {
		t.Fatalf("got %d detections, want 2", len(out))
	}
	// weighted centre (104*0.9+100*0.6)/1.5 = 102.4, best score kept
	if math.Abs(float64(out[0].g[0])-102.4) > 1e-4 || out[0].score != 0.9 || out[0].g[4] != out[0].g[0] {
		t.Errorf("blended %v score %v", out[0].g[:5], out[0].score)
	}
	if out[1].g[0] != 300 || out[1].score != 0.7 {
		t.Errorf("separate detection changed: %v", out[1])
	}
}

func TestTiles(t *testing.T) {
	d := &Detector{opts: Options{}.withDefaults(), side: 256}
	for _, sz := range []image.Point{{640, 480}, {500, 375}} {
		if n := len(d.tiles(sz.X, sz.Y)); n != 0 {
			t.Errorf("%v: %d tiles, want none (full pass resolves %d px)", sz, n, DefaultMinFace)
		}
	}
	for _, sz := range []image.Point{{960, 720}, {1920, 1080}, {4000, 3000}, {1920, 200}} {
		ts := d.tiles(sz.X, sz.Y)
		if len(ts) == 0 || len(ts) > d.opts.MaxTiles {
			t.Fatalf("%v: %d tiles", sz, len(ts))
		}
		full := image.Rect(0, 0, sz.X, sz.Y)
		// every face up to fullMin must lie whole inside some tile
		fm := int(math.Ceil(d.fullMin(sz.X, sz.Y)))
		s := min(fm, sz.X, sz.Y)
		for y := 0; y+s <= sz.Y; y += 7 {
			for x := 0; x+s <= sz.X; x += 7 {
				face := image.Rect(x, y, x+s, y+s)
				ok := false
				for _, tr := range ts {
					if face.In(tr) {
						ok = true
						break
					}
				}
				if !ok {
					t.Fatalf("%v: face %v of side %d in no tile %v", sz, face, s, ts)
				}
			}
		}
		for _, tr := range ts {
			if !tr.In(full) {
				t.Errorf("%v: tile %v outside image", sz, tr)
			}
		}
	}
	off := &Detector{opts: Options{MinFace: -1}.withDefaults(), side: 256}
	if n := len(off.tiles(4000, 3000)); n != 0 {
		t.Errorf("tiling off: %d tiles", n)
	}
}

func TestOpenRejectsBadModelFiles(t *testing.T) {
	dir := t.TempDir()
	p, _ := ModelPath(dir, Back)
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing model: %v", err)
	}
	os.MkdirAll(filepath.Dir(p), 0o755)
	write := func(b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "has 0 bytes", nil},
		{"truncated", "bytes, want 603432", make([]byte, 1000)},
		{"altered", "sha256", make([]byte, 603432)},
	}
	for _, tc := range tests {
		write(tc.data)
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s and %q", tc.name, err, p, tc.want)
		}
	}
	if _, err := Open(dir, Options{Model: "side"}); err == nil || !strings.Contains(err.Error(), "side") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := Open(dir, Options{MinScore: 1.5}); err == nil {
		t.Error("min score 1.5 accepted")
	}
}

// TestOpenRejectsAlteredRealModel flips one byte of the real model.
func TestOpenRejectsAlteredRealModel(t *testing.T) {
	src, _ := ModelPath(modelDir(t), Front)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	dir := t.TempDir()
	p, _ := ModelPath(dir, Front)
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, data, 0o644)
	if _, err := Open(dir, Options{Model: Front}); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("altered model: %v", err)
	}
}

func TestDetectSample(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		w, h int
	}{
		{"back 640x480", Options{}, 640, 480},
		{"front 640x480", Options{Model: Front}, 640, 480},
		{"back 1920x1080 tiled", Options{}, 1920, 1080},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openDetector(t, tc.opts)
			frame := sampleFrame(t, tc.w, tc.h)
			defer frame.Close()
			faces, err := d.Detect(frame)
			if err != nil {
				t.Fatal(err)
			}
			// sample1.jpg shows three people facing the camera
			if len(faces) != 3 {
				t.Fatalf("found %d faces, want 3: %+v", len(faces), faces)
			}
			for i, f := range faces {
				l := f.Landmarks
				if f.Score < d.Options().MinScore || (i > 0 && f.Score > faces[i-1].Score) {
					t.Errorf("face %d: score %v out of order or below threshold", i, f.Score)
				}
				// frontal faces, whatever the head's roll: the subject's
				// right eye is on the image left of the eye line's normal
				// pointing to the mouth, and the mouth is farther from the
				// eyes than the nose
				ex, ey := l[vision.LeftEye].X-l[vision.RightEye].X, l[vision.LeftEye].Y-l[vision.RightEye].Y
				mx, my := (l[vision.LeftEye].X+l[vision.RightEye].X)/2, (l[vision.LeftEye].Y+l[vision.RightEye].Y)/2
				dist := func(p vision.Point) float64 { return math.Hypot(float64(p.X-mx), float64(p.Y-my)) }
				if ex*(l[vision.Mouth].Y-my)-ey*(l[vision.Mouth].X-mx) <= 0 || dist(l[vision.NoseTip]) >= dist(l[vision.Mouth]) {
					t.Errorf("face %d: implausible landmarks %v", i, l)
				}
				for _, p := range l[:4] {
					if p.X < f.Box.X0 || p.X > f.Box.X1 || p.Y < f.Box.Y0 || p.Y > f.Box.Y1 {
						t.Errorf("face %d: landmark %v outside box %v", i, p, f.Box)
					}
				}
				if e := f.EyeDistance(); e < f.Box.W()/5 || e > f.Box.W()/1.5 {
					t.Errorf("face %d: eye distance %v for box width %v", i, e, f.Box.W())
				}
			}
		})
	}
}

func TestDetectBadInput(t *testing.T) {
	d := openDetector(t, Options{})
	empty := gocv.NewMat()
	defer empty.Close()
	gray := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC1)
	defer gray.Close()
	bgra := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC4)
	defer bgra.Close()
	for name, m := range map[string]gocv.Mat{"empty": empty, "gray": gray, "bgra": bgra} {
		if _, err := d.Detect(m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// tiny and extreme aspect ratios are fine (no faces)
	for _, sz := range []image.Point{{1, 1}, {3000, 2}, {2, 3000}} {
		m := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC3)
		faces, err := d.Detect(m)
		m.Close()
		if err != nil || len(faces) != 0 {
			t.Errorf("%v: faces %v err %v", sz, faces, err)
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	d, err := Open(modelDir(t), Options{Model: Front})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer m.Close()
	if _, err := d.Detect(m); !errors.Is(err, ErrClosed) {
		t.Errorf("Detect after Close: %v", err)
	}
}

func TestDetectConcurrent(t *testing.T) {
	d := openDetector(t, Options{Model: Front})
	frame := sampleFrame(t, 640, 480)
	defer frame.Close()
	want, _ := d.Detect(frame)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				got, err := d.Detect(frame)
				if err != nil || len(got) != len(want) || got[0] != want[0] {
					t.Errorf("concurrent detect: %v %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestDetectFlatMemory runs Detect (with tiles) in a loop and checks that
// resident memory stays flat: a leaked blob or output Mat per pass would
// grow it by tens of MB (C++ memory is invisible to the Go GC).
func TestDetectFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	d := openDetector(t, Options{})
	frame := sampleFrame(t, 1280, 720)
	defer frame.Close()
	run := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := d.Detect(frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(20) // warm up allocators and OpenCV's buffers
	before := lanedtest.RSS(t)
	const n = 150
	run(n)
	grown := lanedtest.RSS(t) - before
	t.Logf("RSS %.1f MB → grew %.2f MB over %d detections (%d passes each)", float64(before)/1e6, float64(grown)/1e6, n, 1+len(d.tiles(1280, 720)))
	if grown > 8<<20 {
		t.Errorf("RSS grew by %d bytes over %d detections: a Mat leaks", grown, n)
	}
}

// TestModelsPinnedInManifest: every detector model has its checksum in the
// model manifest, which verifyModel checks against.
func TestModelsPinnedInManifest(t *testing.T) {
	for m, f := range modelFiles {
		if sum, err := pinnedSHA256(f.Name); err != nil || len(sum) != 64 {
			t.Errorf("model %s (%s): checksum %q, %v", m, f.Name, sum, err)
		}
	}
}
