package outbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const childEnv = "LANED_OUTBOX_POWERCUT_DB"

// TestPowerCut (100 kills; 1000 with LANED_SOAK=1) runs a child process that enqueues and acks continuously,
// SIGKILLs it at random points, reopens the file and checks that every seq
// the child was told is durable is there (or was being acked), that seqs
// are never reused, and that the bbolt file is consistent.
func TestPowerCut(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		powerCutChild(path)
		return
	}
	if testing.Short() {
		t.Skip("short: skipping 100 kill -9 cycles")
	}
	kills := 100
	if os.Getenv("LANED_SOAK") != "" {
		kills = 1000 // CI's soak run
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	path := filepath.Join(t.TempDir(), "outbox.db")

	var lastSeq uint64
	ids := map[uint64]string{} // every durable seq ever reported → id
	acked := map[uint64]bool{} // seqs the child started to ack
	var durableTotal, ackTotal int
	for i := range kills {
		killAt := rng.IntN(400) // durable records to wait for before the kill
		lines := runAndKill(t, path, killAt)
		var runSeqs []uint64
		for _, ln := range lines {
			f := strings.Fields(ln)
			switch {
			case len(f) == 3 && f[0] == "E":
				seq, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Fatalf("child line %q", ln)
				}
				if old, dup := ids[seq]; dup {
					t.Fatalf("run %d: seq %d reported twice (ids %s, %s)", i, seq, old, f[2])
				}
				if seq <= lastSeq {
					t.Fatalf("run %d: seq %d reused (last seq before the run %d)", i, seq, lastSeq)
				}
				ids[seq] = f[2]
				runSeqs = append(runSeqs, seq)
			case len(f) >= 2 && f[0] == "A":
				for _, s := range f[1:] {
					seq, _ := strconv.ParseUint(s, 10, 64)
					acked[seq] = true
					ackTotal++
				}
			}
		}
		durableTotal += len(runSeqs)

		if err := CheckFile(path, time.Second); err != nil {
			t.Fatalf("run %d: read-only check after kill: %v", i, err)
		}
		ob, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("run %d: reopen after kill: %v", i, err)
		}
		if err := ob.Check(); err != nil {
			t.Fatalf("run %d: check after kill: %v", i, err)
		}
		msgs, err := ob.Pending(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		st := ob.Stats()
		ob.Close()
		present := map[uint64]bool{}
		var prev uint64
		for _, m := range msgs {
			if m.Seq <= prev {
				t.Fatalf("run %d: pending not strictly increasing: %d after %d", i, m.Seq, prev)
			}
			prev = m.Seq
			present[m.Seq] = true
			if id, ok := ids[m.Seq]; ok && id != m.ID {
				t.Fatalf("run %d: seq %d has id %s, child was told %s", i, m.Seq, m.ID, id)
			}
			if !strings.HasPrefix(string(m.Payload), "run=") {
				t.Fatalf("run %d: seq %d payload %q", i, m.Seq, m.Payload)
			}
		}
		for seq := range ids {
			if !present[seq] && !acked[seq] {
				t.Fatalf("run %d: durable seq %d lost (never acked)", i, seq)
			}
		}
		if st.LastSeq < prev || (len(runSeqs) > 0 && st.LastSeq < runSeqs[len(runSeqs)-1]) {
			t.Fatalf("run %d: counter %d behind stored/reported seqs", i, st.LastSeq)
		}
		lastSeq = st.LastSeq
	}
	t.Logf("%d kills: %d durable seqs reported, %d acked, last seq %d; none lost, none reused, check passed",
		kills, durableTotal, ackTotal, lastSeq)
}

// runAndKill starts the child, waits until it reported n durable records,
// SIGKILLs it and returns every line it wrote.
func runAndKill(t *testing.T, path string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerCut$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	killed := false
	durable := 0
	for sc.Scan() {
		ln := sc.Text()
		lines = append(lines, ln)
		if strings.HasPrefix(ln, "E ") {
			durable++
		}
		if !killed && (ln == "ready" && n == 0 || durable >= n && n > 0) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited by itself: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child not killed by SIGKILL: %v", err)
	}
	return lines
}

// powerCutChild enqueues from several goroutines and acks from another,
// writing "E seq id" after each Enqueue returned and "A seq..." before
// each Ack, until it is killed. Each line is one write(2) to a pipe, so it
// is atomic and survives the kill.
func powerCutChild(path string) {
	ob, err := Open(path, Options{
		Validate:    AnyPayload,
		LockTimeout: 10 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	say := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(s + "\n")
	}
	say("ready")
	run := os.Getpid()
	ctx := context.Background()
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				k := allKinds[i%len(allKinds)]
				m, err := ob.Enqueue(ctx, k, fmt.Appendf(nil, "run=%d w=%d i=%d %s", run, w, i, summaryPayload[:200]))
				if err != nil {
					fmt.Fprintln(os.Stderr, "child enqueue:", err)
					os.Exit(4)
				}
				say(fmt.Sprintf("E %d %s", m.Seq, m.ID))
			}
		}()
	}
	go func() {
		for {
			<-ob.Notify()
			msgs, err := ob.Pending(64)
			if err != nil || len(msgs) < 32 {
				continue
			}
			line := "A"
			var seqs []uint64
			for _, m := range msgs[:32] {
				line += " " + strconv.FormatUint(m.Seq, 10)
				seqs = append(seqs, m.Seq)
			}
			say(line)
			if err := ob.Ack(seqs...); err != nil {
				fmt.Fprintln(os.Stderr, "child ack:", err)
				os.Exit(5)
			}
		}
	}()
	time.Sleep(60 * time.Second) // the parent kills us long before
	os.Exit(6)
}
