package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/laned/laned/internal/lanedtest"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// faultPlan is how hard TestFault pushes. The default is the acceptance
// plan (about a minute here); -short runs a small one; LANED_SOAK=1 (the
// lead's .ci/run) a longer one.
type faultPlan struct {
	summaries   int // committed summaries, all lanes
	laneKills   int // SIGKILLs of lane processes, all lanes
	brokerKills int
	linkCuts    int
	lanes       int
	rate        int // summaries/s per lane process
}

func planFor() faultPlan {
	switch {
	case os.Getenv("LANED_SOAK") != "":
		return faultPlan{summaries: 50000, laneKills: 500, brokerKills: 120, linkCuts: 120, lanes: 2, rate: 400}
	case testing.Short():
		return faultPlan{summaries: 2000, laneKills: 20, brokerKills: 5, linkCuts: 5, lanes: 2, rate: 400}
	}
	return faultPlan{summaries: 20000, laneKills: 200, brokerKills: 50, linkCuts: 50, lanes: 2, rate: 400}
}

// TestFaultLaneProcess is the lane side of TestFault, run as a subprocess:
// an outbox and a publisher, with producers that commit summaries and log
// every durable enqueue to stdout ("C seq id"). With LANED_FAULT_DRAIN it
// only publishes until the outbox is empty and prints "DRAINED".
func TestFaultLaneProcess(t *testing.T) {
	if !lanedtest.IsChild("TestFaultLaneProcess") {
		t.Skip("subprocess of TestFault")
	}
	lane := os.Getenv("LANED_FAULT_LANE")
	ob, err := outbox.Open(os.Getenv("LANED_FAULT_OUTBOX"), outbox.Options{Logger: quietLog(), LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println("E open", err)
		os.Exit(3)
	}
	cfg := testConfig(os.Getenv("LANED_FAULT_BROKER"))
	cfg.Prefix, cfg.Lane, cfg.ClientID = "fault", lane, "laned-fault-"+lane
	cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
	cfg.KeepAlive = 2 * time.Second
	p, err := New(Options{Config: cfg, Outbox: ob, Logger: quietLog(), Version: "fault"})
	if err != nil {
		fmt.Println("E new", err)
		os.Exit(3)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	var out sync.Mutex
	if os.Getenv("LANED_FAULT_DRAIN") != "" {
		for ob.Stats().Count > 0 {
			time.Sleep(20 * time.Millisecond) // a real process waiting for a real broker
		}
		cancel()
		p.Close()
		ob.Close()
		fmt.Println("DRAINED")
		os.Exit(0)
	}
	rate, _ := strconv.Atoi(os.Getenv("LANED_FAULT_RATE"))
	tick := time.NewTicker(time.Second / time.Duration(rate))
	var n atomic.Int64
	sem := make(chan struct{}, 8) // concurrent producers share group commits
	pid := os.Getpid()
	for range tick.C {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			i := n.Add(1)
			payload := transaction(t, lane, int(i))
			payload = []byte(strings.Replace(string(payload), fmt.Sprintf(`"%s-%08d"`, lane, i), fmt.Sprintf(`"%s-%d-%d"`, lane, pid, i), 1))
			m, err := ob.Enqueue(ctx, outbox.KindSummary, payload)
			if err != nil {
				out.Lock()
				fmt.Println("E enqueue", err)
				out.Unlock()
				return
			}
			out.Lock()
			fmt.Printf("C %d %s\n", m.Seq, m.ID) // one write: whole line or nothing
			out.Unlock()
		}()
	}
}

type laneState struct {
	name      string
	path      string
	mu        sync.Mutex
	committed map[string]uint64 // id → seq, as logged by the lane process
	kills     atomic.Int64      // written by the lane's goroutine, read by the test's
}

func (l *laneState) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.committed)
}

// runLane starts one lane process; it returns when the process exits or
// is killed. A lane that exits by itself while it should be killed is an
// error (a failing child is not a kill).
func (l *laneState) runLane(t *testing.T, broker, rate string, drain bool, kill <-chan struct{}) (drained bool, err error) {
	env := []string{"LANED_FAULT_LANE=" + l.name, "LANED_FAULT_OUTBOX=" + l.path, "LANED_FAULT_BROKER=" + broker, "LANED_FAULT_RATE=" + rate}
	if drain {
		env = append(env, "LANED_FAULT_DRAIN=1")
	}
	c := lanedtest.StartChild(t, "TestFaultLaneProcess", env...)
	read := make(chan struct{})
	go func() {
		defer close(read)
		for line := range c.Lines() {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "C":
				seq, _ := strconv.ParseUint(f[1], 10, 64)
				l.mu.Lock()
				l.committed[f[2]] = seq
				l.mu.Unlock()
			case len(f) == 1 && f[0] == "DRAINED":
				drained = true
			case len(f) > 0 && f[0] == "E":
				t.Logf("lane %s: %s", l.name, line)
			}
		}
	}()
	select {
	case <-kill:
		err := c.Kill()
		<-read
		if err != nil {
			return false, err
		}
		l.kills.Add(1)
		return false, nil
	case <-read:
		return drained, c.Wait()
	}
}

// TestFault: summaries flow while the broker is killed and restarted, the
// link is cut and the lane processes are SIGKILLed and restarted. Every
// committed summary must reach the subscriber, in per-lane order after
// dropping duplicates, and the outbox files must pass bbolt's check.
func TestFault(t *testing.T) {
	plan := planFor()
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	proxy := mosquittotest.NewProxy(t, b.Addr())
	sub := subscribe(t, b.URL(), "office-fault", "fault/+/+/transactions")
	dir := t.TempDir()
	start := time.Now()

	lanes := make([]*laneState, plan.lanes)
	for i := range lanes {
		lanes[i] = &laneState{name: fmt.Sprintf("L%d", i+1), path: filepath.Join(dir, fmt.Sprintf("L%d.db", i+1)), committed: map[string]uint64{}}
	}
	total := func() (n, kills int) {
		for _, l := range lanes {
			n += l.count()
			kills += int(l.kills.Load())
		}
		return
	}
	var brokerKills, cuts atomic.Int64
	stop := make(chan struct{})
	var chaos sync.WaitGroup
	jitter := func(lo, hi time.Duration) time.Duration { return lo + rand.N(hi-lo) }
	chaos.Add(2)
	// The broker is stopped with SIGTERM by default: mosquitto then saves
	// its queues, so every message it PUBACKed is still delivered after
	// the restart. With SIGKILL (LANED_FAULT_BROKER_SIGKILL=1) mosquitto
	// loses what it acknowledged since its last autosave: no client can
	// prevent that, so that mode reports losses instead of failing.
	hardKill := os.Getenv("LANED_FAULT_BROKER_SIGKILL") != ""
	go func() { // the broker dies and comes back
		defer chaos.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(jitter(300*time.Millisecond, 900*time.Millisecond)):
			}
			if hardKill {
				b.Kill()
			} else {
				b.Stop()
			}
			time.Sleep(jitter(20*time.Millisecond, 200*time.Millisecond))
			b.Restart()
			brokerKills.Add(1)
		}
	}()
	go func() { // the link between lane and broker is cut
		defer chaos.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(jitter(200*time.Millisecond, 700*time.Millisecond)):
			}
			proxy.Cut()
			time.Sleep(jitter(10*time.Millisecond, 300*time.Millisecond))
			proxy.Restore()
			cuts.Add(1)
		}
	}()
	var lanesWG sync.WaitGroup
	for _, l := range lanes {
		lanesWG.Add(1)
		go func() { // the lane process is SIGKILLed at random moments
			defer lanesWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				kill := make(chan struct{})
				timer := time.AfterFunc(jitter(80*time.Millisecond, 400*time.Millisecond), func() { close(kill) })
				if _, err := l.runLane(t, proxy.URL(), strconv.Itoa(plan.rate), false, kill); err != nil {
					t.Errorf("lane %s exited by itself: %v", l.name, err)
					return
				}
				timer.Stop()
			}
		}()
	}
	deadline := time.Now().Add(8 * time.Minute)
	for {
		n, kills := total()
		if n >= plan.summaries && kills >= plan.laneKills && int(brokerKills.Load()) >= plan.brokerKills && int(cuts.Load()) >= plan.linkCuts {
			break
		}
		if time.Now().After(deadline) || t.Failed() {
			// Stop the chaos and the lanes before failing: their goroutines
			// report through t, which must not happen after the test returns.
			close(stop)
			chaos.Wait()
			lanesWG.Wait()
			t.Fatalf("chaos did not reach the plan in time: %d summaries, %d lane kills, %d broker kills, %d cuts", n, kills, brokerKills.Load(), cuts.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	chaos.Wait()
	lanesWG.Wait()
	chaosTime := time.Since(start)
	if !b.Running() {
		b.Restart()
	}
	proxy.Restore()

	// Drain: each lane runs once more, undisturbed, until its outbox is empty.
	var drainWG sync.WaitGroup
	for _, l := range lanes {
		drainWG.Add(1)
		go func() {
			defer drainWG.Done()
			kill := make(chan struct{})
			timer := time.AfterFunc(2*time.Minute, func() { close(kill) })
			defer timer.Stop()
			drained, err := l.runLane(t, proxy.URL(), "1", true, kill)
			if err != nil || !drained {
				t.Errorf("lane %s did not drain: %v", l.name, err)
			}
		}()
	}
	drainWG.Wait()

	committed := map[string]uint64{}
	laneOf := map[string]string{}
	for _, l := range lanes {
		for id, seq := range l.committed {
			committed[id], laneOf[id] = seq, l.name
		}
	}
	var missing []string
	var ms []received
	wait := 2 * time.Minute
	if hardKill {
		wait = 30 * time.Second
	}
	for end := time.Now().Add(wait); ; {
		ms = sub.messages()
		got := map[string]bool{}
		for _, m := range ms {
			var h struct {
				ID string `json:"message_id"`
			}
			json.Unmarshal(m.Payload, &h)
			got[h.ID] = true
		}
		missing = missing[:0]
		for id := range committed {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(end) {
			break
		}
		time.Sleep(200 * time.Millisecond) // a real subscriber catching up
	}
	if len(missing) > 0 {
		report := t.Errorf
		if hardKill {
			report = t.Logf
		}
		report("%d of %d committed summaries never reached the subscriber (e.g. %s on lane %s)",
			len(missing), len(committed), missing[0], laneOf[missing[0]])
	}

	// Dedup by id; per-lane order of first copies; duplicates.
	seen := map[string]bool{}
	last := map[string]uint64{}
	dups, disorder := 0, 0
	for _, m := range ms {
		var h struct {
			ID   string `json:"message_id"`
			Seq  uint64 `json:"sequence"`
			Lane string `json:"lane"`
		}
		if err := json.Unmarshal(m.Payload, &h); err != nil {
			t.Fatalf("bad payload %q: %v", m.Payload, err)
		}
		if seen[h.ID] {
			dups++
			continue
		}
		seen[h.ID] = true
		if want, ok := committed[h.ID]; ok && want != h.Seq {
			t.Errorf("id %s arrived with seq %d, committed as %d", h.ID, h.Seq, want)
		}
		if h.Seq <= last[h.Lane] {
			disorder++
			if disorder < 5 && !hardKill { // a SIGKILLed mosquitto may lose and reorder what it PUBACKed
				t.Errorf("lane %s: seq %d after %d", h.Lane, h.Seq, last[h.Lane])
			}
		}
		last[h.Lane] = h.Seq
	}
	checks := "ok"
	for _, l := range lanes {
		if err := outbox.CheckFile(l.path, time.Second); err != nil {
			t.Errorf("outbox check: %v", err)
			checks = "FAILED"
		}
		if err := bboltCheck(l.path); err != nil {
			t.Errorf("bbolt check %s: %v", l.path, err)
			checks = "FAILED"
		}
	}
	n, kills := total()
	extra := 0
	for id := range seen {
		if _, ok := committed[id]; !ok {
			extra++
		}
	}
	t.Logf("FIGURES fault: broker_sigkill=%v missing=%d committed=%d received=%d unique=%d duplicates=%d (%.2f%%) uncommitted-but-received=%d lane_kills=%d broker_kills=%d link_cuts=%d disorder=%d bbolt_check=%s chaos=%s total=%s",
		hardKill, len(missing), n, len(ms), len(seen), dups, 100*float64(dups)/float64(max(1, len(ms))), extra, kills, brokerKills.Load(), cuts.Load(), disorder, checks,
		chaosTime.Round(time.Second), time.Since(start).Round(time.Second))
	for _, l := range lanes {
		t.Logf("lane %s: %d committed, %d SIGKILLs", l.name, l.count(), l.kills.Load())
	}
}

// bboltCheck runs bbolt's consistency check (what `bbolt check` runs).
func bboltCheck(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}
