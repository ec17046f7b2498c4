package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// scenCamera is a camera at the hardware seam: it delivers a generated
// scenario's frames at their capture times from start (on the real clock,
// as a device would), and can vanish (stop delivering) from a frame on.
type scenCamera struct {
	s      *passgen.Scenario
	name   string
	start  time.Time
	vanish int // frame index from which nothing comes; <0 never
	ch     chan *frame.Frame
	mu     sync.Mutex
	h      camera.Health
	once   sync.Once
}

func newScenCamera(s *passgen.Scenario, name string, start time.Time, vanish int) *scenCamera {
	return &scenCamera{s: s, name: name, start: start, vanish: vanish, ch: make(chan *frame.Frame, 2),
		h: camera.Health{Camera: name, State: camera.StateStarting}}
}

func (c *scenCamera) Name() string { return c.name }

func (c *scenCamera) Run(ctx context.Context) error {
	defer c.once.Do(func() { close(c.ch) })
	for i := range c.s.Frames() {
		if c.vanish >= 0 && i >= c.vanish {
			c.mu.Lock()
			c.h.State, c.h.LastError = camera.StateUnplugged, "device gone"
			c.mu.Unlock()
			<-ctx.Done()
			return nil
		}
		at := c.start.Add(c.s.FrameTime(i))
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		f := c.s.Render(c.name, i)
		f.Time = at
		select {
		case c.ch <- f:
		default:
			c.mu.Lock()
			c.h.Drops++
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.h.Frames++
		c.h.State, c.h.LastFrame = camera.StateStreaming, at
		c.mu.Unlock()
	}
	return nil
}

func (c *scenCamera) Next(ctx context.Context, dst *frame.Frame) error {
	select {
	case f, ok := <-c.ch:
		if !ok {
			return camera.ErrEnded
		}
		*dst = *f
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *scenCamera) Health() camera.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h
}

func (c *scenCamera) Close() error { return nil }

// laneBundle signs a gallery of ids with the scripted analyzer's
// templates (lanetest.IdentityVector).
func laneBundle(t testing.TB, dir string, version uint64, ids ...string) []byte {
	t.Helper()
	priv, err := bundle.LoadPrivateKey(filepath.Join(dir, "sign.key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	w, err := bundle.NewWriter(bundle.Manifest{Version: version, Kind: bundle.Full, Created: now, Expires: now.Add(time.Hour),
		ModelID: "fake-128", Dim: lanetest.Dim}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, id := range ids {
		if err := w.Add(&bundle.Record{Subject: id, Templates: [][]float32{lanetest.IdentityVector(id)}}); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.Finish(&b, priv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type laneRun struct {
	cfg    config.Config
	d      *Daemon
	cancel context.CancelFunc
	done   chan error
	an     *lanetest.Analyzer
}

// startLane builds the same graph as laned run — outbox, uplink, events,
// health, gallery, local API, and the lane (WithLane) — on fakes at the
// hardware seams: scripted cameras, replayed sensors, the scripted
// analyzer standing in for inference.
func startLane(t testing.TB, dir, url string, s *passgen.Scenario, vanish map[string]int, corrupt func(*frame.Frame) bool) *laneRun {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "sign.key")); err != nil { // else a restart on the same files
		if _, err := bundle.GenerateKey(filepath.Join(dir, "sign.key")); err != nil {
			t.Fatal(err)
		}
		if err := store.GenerateKeyFile(filepath.Join(dir, "store.key")); err != nil {
			t.Fatal(err)
		}
	}
	{
		cfg := config.Config{Site: "north", Lane: "L2", StateDir: filepath.Join(dir, "state")}
		cfg.Uplink.Brokers = []string{url}
		cfg.Gallery.Key.File = filepath.Join(dir, "store.key")
		cfg.Gallery.Trust = []string{filepath.Join(dir, "sign.key.pub")}
		cfg.LocalAPI.Socket, cfg.LocalAPI.Group = filepath.Join(dir, "run", "laned.sock"), "-"
		cfg.Console.SocketGroup = "-" // no laned-console group on a build machine
		cfg.Health.Interval, cfg.Health.Thermal = time.Second, "none"
		return startLaneWith(t, cfg, dir, s, vanish, corrupt)
	}
}

// editSensors and editConfig, when set by a test, change the recorded
// loop transitions and the configuration of the next startLane.
var (
	editSensors func([]passgen.Transition) []passgen.Transition
	editConfig  func(*config.Config)
)

func startLaneWith(t testing.TB, cfg config.Config, dir string, s *passgen.Scenario, vanish map[string]int, corrupt func(*frame.Frame) bool) *laneRun {
	t.Helper()
	for _, c := range s.Cameras() {
		cfg.Cameras = append(cfg.Cameras, camera.Config{Name: c, Replay: filepath.Join(dir, "scripted-"+c), FPS: float64(s.FPS())})
	}
	var csv bytes.Buffer
	cw, _ := sensor.NewCSVWriter(&csv, s.Start())
	trs := s.Transitions()
	if editSensors != nil {
		trs = editSensors(trs)
	}
	for _, tr := range trs {
		if tr.Input != "video" {
			cw.Write(sensor.Transition{Input: tr.Input, Active: tr.Active, At: s.Start().Add(tr.At)})
		}
	}
	cw.Flush()
	cfg.Replay.Sensors = filepath.Join(dir, fmt.Sprintf("sensors-%d.csv", time.Now().UnixNano()))
	if err := os.WriteFile(cfg.Replay.Sensors, csv.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Engine.Trigger = lane.TriggerLoop
	cfg.Metrics.Address = "127.0.0.1:0"
	if editConfig != nil {
		editConfig(&cfg)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	an := &lanetest.Analyzer{Script: lanetest.TruthScript(s, 1), Fail: corrupt}
	start := time.Now().Add(time.Second) // time to import the gallery first
	drv := Drivers{Analyzer: an, Start: start, OpenCamera: func(c camera.Config) (camera.Source, error) {
		v, ok := vanish[c.Name]
		if !ok {
			v = -1
		}
		return newScenCamera(s, c.Name, start, v), nil
	}}
	log := slog.New(slog.DiscardHandler)
	d, err := New(cfg, Deps{ModelID: "fake-128", Dim: lanetest.Dim, Log: log, Extra: []func(*Graph) (Component, error){WithLane(cfg, drv, nil, log)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &laneRun{cfg: cfg, d: d, cancel: cancel, done: make(chan error, 1), an: an}
	go func() { r.done <- d.Run(ctx) }()
	return r
}

func (r *laneRun) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if err := r.d.Close(); err != nil {
		t.Fatal(err)
	}
}

func transactions(t *testing.T, o *sub) []*summary.Transaction {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[string]bool{}
	var out []*summary.Transaction
	for _, b := range o.got["transactions"] {
		v, err := summary.Unmarshal(b)
		if err != nil {
			t.Fatalf("published summary: %v", err)
		}
		tx := v.(*summary.Transaction)
		if !seen[tx.MessageID] {
			seen[tx.MessageID] = true
			out = append(out, tx)
		}
	}
	return out
}

// TestLaneEndToEnd: two vehicles through the whole graph with a real
// broker and real bbolt files; 1% of frames corrupt; the rear camera
// vanishes during the second vehicle. The office gets exactly one summary
// per vehicle, the enrolled occupants matched, the stranger not; the
// second summary carries the camera fault and a camera.lost event is
// published; corrupt frames are counted, not fatal. Then no image or
// template-sized float run is left in the state or temp directories.
func TestLaneEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time passes (≈12 s): not in -short")
	}
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	people := []passgen.Person{
		{ID: "alice", Enrolled: true, Face: passgen.SyntheticFace("alice")},
		{ID: "bob", Enrolled: true, Face: passgen.SyntheticFace("bob")},
		{ID: "carol", Enrolled: true, Face: passgen.SyntheticFace("carol")},
		{ID: "stranger", Face: passgen.SyntheticFace("stranger")},
	}
	s, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front", "rear"}, Seed: 5}, []passgen.Vehicle{
		{Occupants: people[:2], Speed: 4, Gap: time.Second},
		{Occupants: people[2:], Speed: 4, Gap: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	vt := s.Vehicles()
	vanishAt := int((vt[1].Arrive + 200*time.Millisecond) * time.Duration(s.FPS()) / time.Second)
	corrupt := func(f *frame.Frame) bool { return f.Seq%100 == 37 }
	office := subscribe(t, b.URL(), "laned/north/L2/+")
	r := startLane(t, dir, b.URL(), s, map[string]int{"rear": vanishAt}, corrupt)
	c := localapi.NewClient(r.cfg.LocalAPI.Socket)
	ctx := context.Background()
	waitFor(t, "the local API", func() bool { _, err := c.Status(ctx); return err == nil })
	if _, err := c.GalleryImport(ctx, bytes.NewReader(laneBundle(t, dir, 3, "alice", "bob", "carol"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two summaries at the office", func() bool { return len(transactions(t, office)) >= 2 })
	time.Sleep(500 * time.Millisecond) // a duplicate or a phantom would come right after
	txs := transactions(t, office)
	if len(txs) != 2 {
		t.Fatalf("%d summaries for 2 vehicles", len(txs))
	}
	for i, tx := range txs {
		got := map[string]bool{}
		for _, o := range tx.Occupants {
			if o.Decision == summary.Match {
				got[o.SubjectID] = true
			}
		}
		for _, p := range vt[i].Occupants {
			if p.Enrolled != got[p.ID] {
				js, _ := json.Marshal(tx)
				t.Errorf("vehicle %d: %s enrolled=%v matched=%v: %s", i, p.ID, p.Enrolled, got[p.ID], js)
			}
		}
		if tx.GalleryVersion != "3" {
			t.Errorf("vehicle %d: gallery version %q", i, tx.GalleryVersion)
		}
	}
	hasFault := false
	for _, f := range txs[1].Faults {
		hasFault = hasFault || (f.Source == "rear" && strings.HasPrefix(f.Code, "camera."))
	}
	if !hasFault {
		t.Errorf("second vehicle's summary has no rear camera fault: %+v", txs[1].Faults)
	}
	waitFor(t, "the camera.lost event", func() bool {
		office.mu.Lock()
		defer office.mu.Unlock()
		for _, e := range office.got["events"] {
			if bytes.Contains(e, []byte(`"camera.lost"`)) && bytes.Contains(e, []byte(`"rear"`)) {
				return true
			}
		}
		return false
	})
	rig := findRig(r.d)
	var errs uint64
	for _, cs := range rig.Lane().Stats().Cameras {
		errs += cs.Errors
	}
	if errs == 0 {
		t.Error("corrupt frames were not counted")
	}
	// Metrics, read at scrape time.
	resp, err := http.Get("http://" + rig.Metrics().Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"laned_summaries_total 2", `laned_stage_duration_seconds_count{stage="total"} 2`,
		`laned_gallery_info{version="3"} 1`, `laned_scrape_collector_success{collector="lane"} 1`, `laned_uplink_state{state="connected"} 1`,
		`laned_camera_streaming{camera="rear"} 0`, `laned_lane_frames_analysed_total{camera="front"}`, "laned_outbox_messages "} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
	r.stop(t)
	if ch, tm := r.an.Leaked(); ch != 0 || tm != 0 {
		t.Errorf("%d chips, %d templates still hold data after the run", ch, tm)
	}
	scanBiometric(t, dir, tmp)
}

func findRig(d *Daemon) *laneRig {
	for _, p := range d.parts {
		if r, ok := p.c.(*laneRig); ok {
			return r
		}
	}
	return nil
}

// scanBiometric fails on an image file, or a run of ≥ 128 plausible
// template floats (little-endian float32 in (-1, 1), not all zero), in any
// file under the directories. The gallery store holds templates, but
// encrypted: no float run shows there either.
func scanBiometric(t *testing.T, dirs ...string) {
	t.Helper()
	for _, f := range findBiometric(dirs...) {
		t.Error(f)
	}
}

func findBiometric(dirs ...string) []string {
	var found []string
	for _, root := range dirs {
		filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !de.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, magic := range [][]byte{{0xff, 0xd8, 0xff}, []byte("\x89PNG"), []byte("RIFF"), []byte("BM"), []byte("P6\n")} {
				if bytes.HasPrefix(b, magic) {
					found = append(found, path+": an image file left on disk")
				}
			}
			if n := longestFloatRun(b); n >= 128 {
				found = append(found, fmt.Sprintf("%s: a run of %d template-like float32 values", path, n))
			}
			return nil
		})
	}
	return found
}

// TestFindBiometric: the scan finds a PNG and a template written as
// float32s, and not a JSON summary or random bytes.
func TestFindBiometric(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.bin"), []byte("\x89PNG\r\n\x1a\n...."), 0o600)
	tb := make([]byte, 4*lanetest.Dim)
	for i, v := range lanetest.IdentityVector("x") {
		u := math.Float32bits(v)
		tb[4*i], tb[4*i+1], tb[4*i+2], tb[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	os.WriteFile(filepath.Join(dir, "t.db"), append([]byte("hdr"), tb...), 0o600)
	os.WriteFile(filepath.Join(dir, "s.json"), bytes.Repeat([]byte(`{"score":0.93,"subject":"alice"}`), 64), 0o600)
	got := findBiometric(dir)
	if len(got) != 2 || !strings.Contains(strings.Join(got, " "), "a.bin") || !strings.Contains(strings.Join(got, " "), "t.db") {
		t.Errorf("found %q, want a.bin and t.db only", got)
	}
}

func longestFloatRun(b []byte) int {
	best := 0
	for off := range 4 {
		run, nonzero := 0, 0
		for i := off; i+4 <= len(b); i += 4 {
			u := uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
			f := math.Float32frombits(u)
			if f > -1 && f < 1 && f == f && (u == 0 || (u>>23)&0xff >= 100) {
				run++
				if u != 0 {
					nonzero++
				}
				if run > best && nonzero > run/2 {
					best = run
				}
			} else {
				run, nonzero = 0, 0
			}
		}
	}
	return best
}

// officeAs is subscribe with its own client id, subscribed on return.
func officeAs(t *testing.T, url, filter, id string) *sub {
	s := &sub{got: map[string][][]byte{}}
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		leaf := m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
		s.mu.Lock()
		s.got[leaf] = append(s.got[leaf], append([]byte(nil), m.Payload()...))
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// poll is waitFor for benchmarks too.
func poll(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling real processes and sockets
	}
}
