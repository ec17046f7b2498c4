package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/localapi"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// TestLaneFaultsEndToEnd: the broker is down while the first vehicle is
// decided (its summary waits in the outbox); a gallery swap arrives while
// the second vehicle is being captured (its summary keeps the version it
// started with); SIGTERM (cancel) comes mid-pass (the open vehicle is
// closed, end shutdown, never lost). After a restart with the broker back
// the office has exactly one summary per vehicle.
func TestLaneFaultsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time passes: not in -short")
	}
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	dir := t.TempDir()
	people := []passgen.Person{
		{ID: "alice", Enrolled: true, Face: passgen.SyntheticFace("alice")},
		{ID: "bob", Enrolled: true, Face: passgen.SyntheticFace("bob")},
	}
	s, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front"}, Seed: 9}, []passgen.Vehicle{
		{Occupants: people[:1], Speed: 4, Gap: time.Second},
		{Occupants: people[1:], Speed: 1.5, Gap: time.Second}, // slow: the cancel comes mid-pass
	})
	if err != nil {
		t.Fatal(err)
	}
	office := subscribe(t, b.URL(), "laned/north/L2/+")
	r := startLane(t, dir, b.URL(), s, nil, nil)
	c := localapi.NewClient(r.cfg.LocalAPI.Socket)
	ctx := context.Background()
	waitFor(t, "the local API", func() bool { _, err := c.Status(ctx); return err == nil })
	if _, err := c.GalleryImport(ctx, bytes.NewReader(laneBundle(t, dir, 3, "alice", "bob"))); err != nil {
		t.Fatal(err)
	}
	b.Stop() // broker down
	rig := findRig(r.d)
	waitFor(t, "the first summary in the outbox and the second vehicle present", func() bool {
		st := rig.Lane().Stats()
		return st.Summaries >= 1 && st.State == lane.StateCapturing
	})
	if n := r.d.Outbox.Stats().Count; n == 0 {
		t.Error("broker down: the first summary is not waiting in the outbox")
	}
	if _, err := c.GalleryImport(ctx, bytes.NewReader(laneBundle(t, dir, 4, "alice", "bob"))); err != nil {
		t.Fatal(err)
	}
	r.stop(t) // SIGTERM mid-pass

	b.Restart()
	empty, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front"}, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	office = officeAs(t, b.URL(), "laned/north/L2/+", "office-after-restart") // subscribed before the lane comes back
	r2 := startLane(t, dir, b.URL(), empty, nil, nil)
	defer r2.stop(t)
	defer func() {
		if t.Failed() {
			office.mu.Lock()
			t.Logf("outbox %+v; uplink %+v; office %d msgs by leaf %v", r2.d.Outbox.Stats(), r2.d.Uplink.Status(), len(office.got["transactions"]), len(office.got))
			office.mu.Unlock()
		}
	}()
	waitFor(t, "both summaries at the office after the restart", func() bool { return len(transactions(t, office)) >= 2 })
	time.Sleep(500 * time.Millisecond) // a duplicate would come right after
	txs := transactions(t, office)
	ids := map[string]int{}
	for _, tx := range txs {
		ids[tx.TransactionID]++
	}
	if len(txs) != 2 || len(ids) != 2 {
		t.Fatalf("%d summaries (%d vehicles) at the office, want 2 and 2: %v", len(txs), len(ids), ids)
	}
	if txs[0].End != summary.EndDeparture || txs[1].End != summary.EndShutdown {
		t.Errorf("ends %q, %q; want departure, shutdown", txs[0].End, txs[1].End)
	}
	if txs[1].GalleryVersion != "3" {
		t.Errorf("second vehicle: gallery version %q, want 3 (pinned when it arrived)", txs[1].GalleryVersion)
	}
}

// TestLaneKill9EndToEnd: laned (the same graph, in a child process) is
// killed with SIGKILL while the second vehicle is being captured, after
// the first one's summary was committed. After a restart on the same
// files the office has the first vehicle's summary (re-sent copies carry
// the same message_id: at-least-once), and nothing partial of the second.
func TestLaneKill9EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("child process with real-time passes: not in -short")
	}
	people := []passgen.Person{
		{ID: "alice", Enrolled: true, Face: passgen.SyntheticFace("alice")},
		{ID: "bob", Enrolled: true, Face: passgen.SyntheticFace("bob")},
	}
	s, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front"}, Seed: 4}, []passgen.Vehicle{
		{Occupants: people[:1], Speed: 4, Gap: time.Second},
		{Occupants: people[1:], Speed: 1.2, Gap: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if lanedtest.IsChild(t.Name()) {
		r := startLane(t, os.Getenv("LANED_K9_DIR"), os.Getenv("LANED_K9_BROKER"), s, nil, nil)
		c := localapi.NewClient(r.cfg.LocalAPI.Socket)
		poll(t, "the local API", func() bool { _, err := c.Status(context.Background()); return err == nil })
		fmt.Println("ready")
		rig := findRig(r.d)
		poll(t, "the first summary and the second vehicle", func() bool {
			st := rig.Lane().Stats()
			return st.Summaries >= 1 && st.State == lane.StateCapturing
		})
		fmt.Println("capturing")
		select {} // until killed
	}
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir := t.TempDir()
	office := officeAs(t, b.URL(), "laned/north/L2/transactions", "office-k9")
	if _, err := bundle.GenerateKey(filepath.Join(dir, "sign.key")); err != nil {
		t.Fatal(err)
	}
	if err := store.GenerateKeyFile(filepath.Join(dir, "store.key")); err != nil {
		t.Fatal(err)
	}
	child := lanedtest.StartChild(t, t.Name(), "LANED_K9_DIR="+dir, "LANED_K9_BROKER="+b.URL())
	if _, err := child.WaitLine("ready", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c := localapi.NewClient(filepath.Join(dir, "run", "laned.sock"))
	if _, err := c.GalleryImport(context.Background(), bytes.NewReader(laneBundle(t, dir, 3, "alice", "bob"))); err != nil {
		t.Fatal(err)
	}
	if _, err := child.WaitLine("capturing", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := child.Kill(); err != nil {
		t.Fatal(err)
	}
	empty, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front"}, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := startLane(t, dir, b.URL(), empty, nil, nil)
	poll(t, "the first summary at the office", func() bool { return len(transactions(t, office)) >= 1 })
	time.Sleep(time.Second) // anything else would come now
	r.stop(t)
	office.mu.Lock()
	byTx := map[string]map[string]bool{}
	for _, p := range office.got["transactions"] {
		v, err := summary.Unmarshal(p)
		if err != nil {
			t.Fatalf("a partial or broken summary: %v", err)
		}
		tx := v.(*summary.Transaction)
		if byTx[tx.TransactionID] == nil {
			byTx[tx.TransactionID] = map[string]bool{}
		}
		byTx[tx.TransactionID][tx.MessageID] = true
		if len(tx.Occupants) != 1 || tx.Occupants[0].SubjectID != "alice" {
			t.Errorf("summary %s: %+v, want the first vehicle's (alice)", tx.TransactionID, tx.Occupants)
		}
	}
	office.mu.Unlock()
	if len(byTx) != 1 {
		t.Errorf("%d vehicles' summaries at the office, want 1 (the second was mid-capture at the kill)", len(byTx))
	}
	for id, ms := range byTx {
		if len(ms) != 1 {
			t.Errorf("transaction %s published under %d message ids: a duplicate beyond at-least-once", id, len(ms))
		}
	}
}

// TestLaneLoopStuckOnEndToEnd: the arrival loop sticks on during the
// first vehicle and never releases. The lane raises loop.stuck_on (an
// event at the office) and takes presence from the video trigger, so the
// second vehicle still gets its summary.
func TestLaneLoopStuckOnEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time passes: not in -short")
	}
	people := []passgen.Person{
		{ID: "alice", Enrolled: true, Face: passgen.SyntheticFace("alice")},
		{ID: "bob", Enrolled: true, Face: passgen.SyntheticFace("bob")},
	}
	s, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front"}, Seed: 6}, []passgen.Vehicle{
		{Occupants: people[:1], Speed: 4, Gap: 2 * time.Second},
		{Occupants: people[1:], Speed: 4, Gap: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	editSensors = func(ts []passgen.Transition) []passgen.Transition {
		var out []passgen.Transition
		arrived := false
		for _, tr := range ts {
			if tr.Input == "arrival" && (!tr.Active || arrived) {
				continue // stuck on from the first vehicle
			}
			arrived = arrived || tr.Input == "arrival"
			out = append(out, tr)
		}
		return out
	}
	editConfig = func(c *config.Config) { c.Engine.MaxCapture, c.Engine.MaxPresence = 2*time.Second, 3*time.Second }
	defer func() { editSensors, editConfig = nil, nil }()
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir := t.TempDir()
	office := officeAs(t, b.URL(), "laned/north/L2/+", "office-stuck")
	r := startLane(t, dir, b.URL(), s, nil, nil)
	defer r.stop(t)
	c := localapi.NewClient(r.cfg.LocalAPI.Socket)
	poll(t, "the local API", func() bool { _, err := c.Status(context.Background()); return err == nil })
	if _, err := c.GalleryImport(context.Background(), bytes.NewReader(laneBundle(t, dir, 3, "alice", "bob"))); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			st := findRig(r.d).Lane().Stats()
			office.mu.Lock()
			t.Logf("lane inputs %+v trigger %s faults %d; office events %d summaries %d", st.Inputs, st.Trigger, st.Faults, len(office.got["events"]), len(office.got["transactions"]))
			for _, e := range office.got["events"] {
				t.Logf("event %s", e)
			}
			office.mu.Unlock()
		}
	}()
	poll(t, "the loop.stuck_on event", func() bool {
		office.mu.Lock()
		defer office.mu.Unlock()
		for _, e := range office.got["events"] {
			if bytes.Contains(e, []byte(`"loop.stuck_on"`)) {
				return true
			}
		}
		return false
	})
	poll(t, "bob's summary (video trigger)", func() bool {
		for _, tx := range transactions(t, office) {
			for _, o := range tx.Occupants {
				if o.SubjectID == "bob" {
					return tx.Trigger == summary.TriggerVideo
				}
			}
		}
		return false
	})
}

// BenchmarkCaptureEndToPuback measures, per vehicle, the time from the
// end of its capture (detected_at + latency_ms.capture: the departure
// plus the post margin)
// to the summary's arrival at a subscriber of the local mosquitto, through
// the whole laned run graph (lane decision, bbolt outbox commit, uplink
// publish, broker) — an upper bound of capture end → PUBACK, which the
// broker sends before or while forwarding. The scripted analyzer stands
// in for inference (its cost is in the replay benchmarks).
//
//	go test ./internal/daemon -run '^$' -bench CaptureEndToPuback -benchtime 1x
func BenchmarkCaptureEndToPuback(b *testing.B) {
	br := mosquittotest.Start(b, mosquittotest.Options{})
	var vs []passgen.Vehicle
	for i := range 12 {
		vs = append(vs, passgen.Vehicle{Occupants: []passgen.Person{{ID: fmt.Sprintf("p%d", i%3), Enrolled: true,
			Face: passgen.SyntheticFace(fmt.Sprintf("p%d", i%3))}}, Speed: 8, Gap: 300 * time.Millisecond})
	}
	s, err := passgen.Generate(passgen.Config{Width: 320, Height: 180, Cameras: []string{"front"}, Seed: 2}, vs)
	if err != nil {
		b.Fatal(err)
	}
	var lat []float64
	for range b.N {
		dir := b.TempDir()
		office := timedOffice(b, br.URL(), "laned/north/L2/transactions")
		r := startLane(b, dir, br.URL(), s, nil, nil)
		c := localapi.NewClient(r.cfg.LocalAPI.Socket)
		ctx := context.Background()
		poll(b, "the local API", func() bool { _, err := c.Status(ctx); return err == nil })
		if _, err := c.GalleryImport(ctx, bytes.NewReader(laneBundle(b, dir, 3, "p0", "p1", "p2"))); err != nil {
			b.Fatal(err)
		}
		poll(b, "every summary", func() bool { return office.n() >= len(vs) })
		for _, g := range office.all() {
			captureEnd := g.tx.DetectedAt.Add(time.Duration(g.tx.Latency.Capture * float64(time.Millisecond)))
			lat = append(lat, float64(g.at.Sub(captureEnd))/1e6)
		}
		r.stop(b)
	}
	sort.Float64s(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	b.ReportMetric(float64(len(lat))/float64(b.N), "summaries/op")
}

type timed struct {
	tx *summary.Transaction
	at time.Time
}

type timedSub struct {
	mu  sync.Mutex
	got []timed
}

func (s *timedSub) n() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.got) }
func (s *timedSub) all() []timed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]timed(nil), s.got...)
}

func timedOffice(tb testing.TB, url, topic string) *timedSub {
	s := &timedSub{}
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("office-%d", time.Now().UnixNano())))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscriber: %v", tok.Error())
	}
	tb.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		at := time.Now()
		if v, err := summary.Unmarshal(m.Payload()); err == nil {
			s.mu.Lock()
			s.got = append(s.got, timed{v.(*summary.Transaction), at})
			s.mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}
