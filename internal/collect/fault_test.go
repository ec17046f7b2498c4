package collect_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/laned/laned/internal/collect"
	"github.com/laned/laned/internal/collect/pgtest"
	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// faultPlan is how hard TestFault pushes: the default is the issue's
// acceptance size; -short a small run; LANED_SOAK=1 (.ci/run) a longer one.
type faultPlan struct {
	summaries, lanes                  int
	collectorKills, brokers, postgres int
}

func faultPlanFor() faultPlan {
	switch {
	case os.Getenv("LANED_SOAK") != "":
		return faultPlan{summaries: 50000, lanes: 10, collectorKills: 150, brokers: 50, postgres: 12}
	case testing.Short():
		return faultPlan{summaries: 2000, lanes: 10, collectorKills: 6, brokers: 3, postgres: 1}
	}
	return faultPlan{summaries: 20000, lanes: 10, collectorKills: 50, brokers: 20, postgres: 5}
}

const collectorChildEnv = "LANED_COLLECT_FAULT_CHILD"

// TestFaultCollectorProcess is the collector of TestFault, run as a
// subprocess (the test binary re-executed) so it can be SIGKILLed.
func TestFaultCollectorProcess(t *testing.T) {
	if os.Getenv(collectorChildEnv) == "" {
		t.Skip("subprocess of TestFault")
	}
	ctx := context.Background()
	var db *store.DB
	for {
		var err error
		if db, err = store.Open(ctx, os.Getenv("LANED_COLLECT_DSN")); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond) // PostgreSQL is being restarted
	}
	c, err := collect.New(collect.Options{Config: collect.Config{Brokers: []string{os.Getenv("LANED_COLLECT_BROKER")}, Prefix: "fault",
		ClientID: "office-fault", KeepAlive: 2 * time.Second, ConnectTimeout: 2 * time.Second}, Store: db, Logger: quietLog(),
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	if err != nil {
		fmt.Println("E new", err)
		os.Exit(3)
	}
	fmt.Println("UP")
	c.Run(ctx) // until SIGKILL
}

// collectorProc runs one collector subprocess until kill is closed.
func collectorProc(t *testing.T, broker, dsn string, kill <-chan struct{}) error {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultCollectorProcess$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), collectorChildEnv+"=1", "LANED_COLLECT_BROKER="+broker, "LANED_COLLECT_DSN="+dsn)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "E ") {
				t.Logf("collector: %s", sc.Text())
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-kill:
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return nil
	case err := <-exited:
		return fmt.Errorf("collector exited by itself: %v", err)
	}
}

// TestFault: summaries from ten lanes flow through the real uplink code
// (outbox + publisher) while the collector is SIGKILLed, mosquitto
// restarted and PostgreSQL stopped or crashed and restarted. Afterwards
// every message the lanes had PUBACKed (their outboxes drained) is stored
// exactly once, the gap report is empty, and a deliberately dropped
// message shows up as a gap.
func TestFault(t *testing.T) {
	plan := faultPlanFor()
	start := time.Now()
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "fault")
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The office's session exists before the lanes publish (MQTT keeps
	// nothing for a subscription that does not exist yet).
	runCollector(t, collect.Config{Brokers: []string{b.URL()}, Prefix: "fault", ClientID: "office-fault"}, db, nil).Close()

	lanes := make([]*lane, plan.lanes)
	for i := range lanes {
		lanes[i] = startLane(t, b.URL(), "fault", "north", fmt.Sprintf("L%02d", i+1), -1)
	}
	var mu sync.Mutex
	committed := map[string]uint64{}
	laneOfID := map[string]string{}
	var total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Each lane commits at a steady rate, as vehicles pass.
	perLane := plan.summaries / plan.lanes
	rate := 60 // per lane per second
	for i, l := range lanes {
		name := fmt.Sprintf("L%02d", i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			for n := 0; n < perLane; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				m, err := l.ob.Enqueue(context.Background(), outbox.KindSummary, txPayload(t, "north", name, n, time.Now().UTC()))
				if err != nil {
					t.Errorf("enqueue: %v", err)
					return
				}
				mu.Lock()
				committed[m.ID], laneOfID[m.ID] = m.Seq, name
				mu.Unlock()
				total.Add(1)
			}
		}()
	}
	jitter := func(lo, hi time.Duration) time.Duration { return lo + rand.N(hi-lo) }
	var kills, brokerRestarts, pgRestarts atomic.Int64
	var chaos sync.WaitGroup
	chaos.Add(3)
	go func() { // the collector is SIGKILLed at random moments
		defer chaos.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			kill := make(chan struct{})
			timer := time.AfterFunc(jitter(200*time.Millisecond, 1200*time.Millisecond), func() { close(kill) })
			if err := collectorProc(t, b.URL(), dsn, kill); err != nil {
				t.Errorf("%v", err)
				return
			}
			timer.Stop()
			kills.Add(1)
		}
	}()
	go func() { // mosquitto stops (saving its sessions) and comes back
		defer chaos.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(jitter(800*time.Millisecond, 2*time.Second)):
			}
			b.Stop()
			time.Sleep(jitter(20*time.Millisecond, 300*time.Millisecond))
			b.Restart()
			brokerRestarts.Add(1)
		}
	}()
	go func() { // PostgreSQL: fast shutdown or crash (immediate), then restart
		defer chaos.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(jitter(3*time.Second, 6*time.Second)):
			}
			if i%2 == 0 {
				pg.Crash()
			} else {
				pg.Stop()
			}
			time.Sleep(jitter(100*time.Millisecond, 800*time.Millisecond))
			pg.Restart()
			pgRestarts.Add(1)
		}
	}()
	deadline := time.Now().Add(8 * time.Minute)
	for {
		if int(total.Load()) >= perLane*plan.lanes && int(kills.Load()) >= plan.collectorKills &&
			int(brokerRestarts.Load()) >= plan.brokers && int(pgRestarts.Load()) >= plan.postgres {
			break
		}
		if time.Now().After(deadline) || t.Failed() {
			close(stop)
			chaos.Wait()
			t.Fatalf("chaos did not reach the plan in time: %d summaries, %d collector kills, %d broker restarts, %d PostgreSQL restarts",
				total.Load(), kills.Load(), brokerRestarts.Load(), pgRestarts.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	chaos.Wait()
	chaosTime := time.Since(start)
	if !b.Running() {
		b.Restart()
	}
	if !pg.Running() {
		pg.Restart()
	}

	// Drain: the lanes' outboxes empty (every message PUBACKed), while
	// one collector runs undisturbed.
	final := make(chan struct{})
	finalDone := make(chan error, 1)
	go func() { finalDone <- collectorProc(t, b.URL(), dsn, final) }()
	defer func() { close(final); <-finalDone }()
	waitUntil(t, 2*time.Minute, "lane outboxes drained", func() bool {
		for _, l := range lanes {
			if l.ob.Stats().Count > 0 {
				return false
			}
		}
		return true
	})
	ctx := context.Background()
	var ids map[string]store.Row
	for end := time.Now().Add(time.Minute); ; {
		k, q, err := db.Counts(ctx)
		if err == nil && k["transaction"] >= int64(len(committed)) {
			break
		}
		if time.Now().After(end) {
			r, _ := db.Report(ctx, time.Now(), 0, time.Hour)
			t.Logf("stored %v quarantined %v of %d committed; gaps %+v", k, q, len(committed), r.Gaps)
			break
		}
		time.Sleep(100 * time.Millisecond) // a real collector catching up
	}
	if ids, err = db.IDs(ctx); err != nil {
		t.Fatal(err)
	}
	missing, wrong := 0, 0
	for id, seq := range committed {
		r, ok := ids[id]
		switch {
		case !ok:
			missing++
			if missing <= 12 {
				t.Logf("missing %s lane %s seq %d", id, laneOfID[id], seq)
			}
		case r.Seq != seq || r.Lane != laneOfID[id]:
			wrong++
		}
	}
	if missing > 0 || wrong > 0 || len(ids) != len(committed) {
		t.Errorf("%d committed, %d stored: %d missing, %d with the wrong lane or sequence", len(committed), len(ids), missing, wrong)
	}
	rep, err := db.Report(ctx, time.Now(), 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Gaps) != 0 {
		t.Errorf("gap report not empty: %+v", rep.Gaps)
	}
	var dups, ooo int64
	var perLaneDups []string
	for _, l := range rep.Lanes {
		dups += l.Duplicates
		ooo += l.OutOfOrder
		perLaneDups = append(perLaneDups, fmt.Sprintf("%s:%d", l.Lane, l.Duplicates))
	}
	_, refused, _ := db.Counts(ctx)

	// A deliberately dropped message: sequence max+1 of L01 never sent,
	// max+2 is: the gap shows.
	l01 := laneOf(rep, "north", "L01")
	pub := publisher(t, b.URL())
	p, err := summary.Stamp(txPayload(t, "north", "L01", 999999, time.Now().UTC()), newID(t), l01.MaxSeq+2)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, pub, "fault/north/L01/transactions", p)
	waitUntil(t, 30*time.Second, "the dropped message's gap", func() bool {
		r, err := db.Report(ctx, time.Now(), 0, time.Hour)
		return err == nil && len(r.Gaps) == 1 && r.Gaps[0].From == l01.MaxSeq+1 && r.Gaps[0].To == l01.MaxSeq+1 && r.Overdue == 1
	})
	t.Logf("FIGURES collect-fault: committed=%d stored=%d missing=%d wrong=%d duplicates=%d out_of_order=%d gaps_after=%d quarantined=%v collector_sigkills=%d broker_restarts=%d postgres_restarts=%d (crash %d, fast %d) lanes=%d chaos=%s total=%s",
		len(committed), len(ids), missing, wrong, dups, ooo, len(rep.Gaps), refused, kills.Load(), brokerRestarts.Load(), pgRestarts.Load(),
		(pgRestarts.Load()+1)/2, pgRestarts.Load()/2, plan.lanes, chaosTime.Round(time.Second), time.Since(start).Round(time.Second))
	t.Logf("duplicates per lane: %s", strings.Join(perLaneDups, " "))
}
