package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
)

const powerCutEnv = "LANED_GALLERY_POWERCUT_DIR"

const (
	pcVersions = 12
	pcRecords  = 3000
)

// pcGallery returns the bundle records and the resulting gallery for each
// version: full bundles at 1, 4, 7 and 10, deltas (100 removals, 100
// replacements, 100 additions) in between.
func pcGallery() (bundles [][]*bundle.Record, kinds []bundle.Kind, galleries [][]*bundle.Record) {
	var cur []*bundle.Record
	bundles = make([][]*bundle.Record, pcVersions+1)
	kinds = make([]bundle.Kind, pcVersions+1)
	galleries = make([][]*bundle.Record, pcVersions+1)
	for v := 1; v <= pcVersions; v++ {
		if v%3 == 1 {
			cur = records(fmt.Sprintf("v%02d-", v), pcRecords, uint64(v)*1e6)
			bundles[v], kinds[v] = cur, bundle.Full
		} else {
			byName := map[string]*bundle.Record{}
			var ops []*bundle.Record
			for i, r := range cur {
				switch {
				case i%30 == 0:
					ops = append(ops, &bundle.Record{Subject: r.Subject, Remove: true})
				case i%30 == 1:
					nr := &bundle.Record{Subject: r.Subject, Templates: [][]float32{vec(uint64(v)*1e6+uint64(i), testDim)}}
					ops = append(ops, nr)
					byName[r.Subject] = nr
				default:
					byName[r.Subject] = r
				}
			}
			for i := range 100 {
				nr := &bundle.Record{Subject: fmt.Sprintf("add-%02d-%04d", v, i), Templates: [][]float32{vec(uint64(v)*1e7+uint64(i), testDim)}}
				ops = append(ops, nr)
				byName[nr.Subject] = nr
			}
			slices.SortFunc(ops, func(a, b *bundle.Record) int { return strings.Compare(a.Subject, b.Subject) })
			cur = cur[:0:0]
			for _, r := range byName {
				cur = append(cur, r)
			}
			slices.SortFunc(cur, func(a, b *bundle.Record) int { return strings.Compare(a.Subject, b.Subject) })
			bundles[v], kinds[v] = ops, bundle.Delta
		}
		galleries[v] = cur
	}
	return bundles, kinds, galleries
}

// TestPowerCut SIGKILLs a child process that imports a chain of full and
// delta bundles, at random points, 100 times. After each kill the store
// must open, pass bbolt's check, and serve exactly one whole version
// (count and digest of every subject and template), never older than the
// last one the child reported activated.
func TestPowerCut(t *testing.T) {
	if dir := os.Getenv(powerCutEnv); dir != "" {
		powerCutChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("short: skipping 100 kill -9 cycles")
	}
	dir := t.TempDir()
	bundles, kinds, galleries := pcGallery()
	type want struct {
		n int
		d [32]byte
	}
	wants := map[uint64]want{}
	for v := 1; v <= pcVersions; v++ {
		m := manifest(uint64(v))
		if kinds[v] == bundle.Delta {
			m.Kind, m.BaseVersion, m.ResultCount = bundle.Delta, uint64(v-1), uint64(len(galleries[v]))
		}
		writeBundle(t, filepath.Join(dir, fmt.Sprintf("b%02d", v)), m, bundles[v])
		n, d := digestRecords(galleries[v])
		wants[uint64(v)] = want{n, d}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	db := filepath.Join(dir, "g.db")
	kills, midImport, resets, versionsSeen := 0, 0, 0, map[uint64]int{}
	var importMS []int // durations the child reported
	var floor uint64   // highest version the child reported active
	// At least 100 kills, and on until a third of them hit an import in
	// flight: how many do depends on how fast this machine imports today.
	for kills < 100 || (midImport < 34 && kills < 400) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPowerCut$")
		cmd.Env = append(os.Environ(), powerCutEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill a random delay after the start of a random import; the delay
		// spans an import's duration (~importTime), so kills land in every
		// phase: streaming transactions, the flip, the free.
		delay := time.Duration(rng.Int64N(int64(importTime)))
		target := 1 + rng.IntN(max(1, pcVersions-int(floor)))
		seen, done, inFlight := 0, false, false
		timer := time.NewTimer(10 * time.Second)
	wait:
		for {
			select {
			case ln, ok := <-lines:
				if !ok {
					break wait
				}
				var v uint64
				switch {
				case strings.HasPrefix(ln, "START "):
					inFlight = true
					seen++
				case strings.HasPrefix(ln, "OK "):
					var ms int
					fmt.Sscanf(ln, "OK %d %d", &v, &ms)
					importMS = append(importMS, ms)
					floor = max(floor, v)
					inFlight = false
				case ln == "DONE":
					done = true
				case strings.HasPrefix(ln, "ERR"):
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child failed by itself (not a kill): %s", ln)
				}
				if seen >= target && !done {
					time.Sleep(delay)
					break wait
				}
			case <-timer.C:
				t.Fatal("child hung")
			}
		}
		timer.Stop()
		cmd.Process.Signal(syscall.SIGKILL)
		for ln := range lines { // drain what the child wrote before it died
			if strings.HasPrefix(ln, "OK ") {
				var v uint64
				fmt.Sscanf(ln, "OK %d", &v)
				floor = max(floor, v)
				inFlight = false
			} else if ln == "DONE" {
				done = true
			} else if strings.HasPrefix(ln, "ERR") {
				t.Fatalf("child failed by itself (not a kill): %s", ln)
			}
		}
		// Only a death by our SIGKILL is a power cut; any other exit but a
		// clean DONE is a failure of the child.
		if err := cmd.Wait(); err != nil {
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child failed by itself (not a kill): %v", err)
			}
		}
		if !done {
			kills++
			if inFlight {
				midImport++
			}
		}

		s, err := Open(db, Options{Key: testKey(t)})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kills, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("kill %d: bbolt check: %v", kills, err)
		}
		if g := generations(t, s); g > 1 {
			t.Fatalf("kill %d: %d generations after reopen", kills, g)
		}
		st, err := s.Status(testNow)
		if err != nil {
			t.Fatal(err)
		}
		if st.Active {
			n, d, v := loaded(t, s)
			w := wants[v]
			if n != w.n || d != w.d {
				t.Fatalf("kill %d: serving a mix: version %d with %d subjects (want %d), digest equal %v", kills, v, n, w.n, d == w.d)
			}
			if v < floor {
				t.Fatalf("kill %d: serving version %d, but version %d was reported active", kills, v, floor)
			}
			versionsSeen[v]++
		} else if floor > 0 {
			t.Fatalf("kill %d: no gallery after version %d was reported active", kills, floor)
		}
		s.Close()
		if done || (st.Active && st.Manifest.Version >= pcVersions-1) {
			os.Remove(db)
			os.Remove(db + RollbackSuffix) // a new chain starts at version 1
			floor = 0
			resets++
		}
	}
	slices.Sort(importMS)
	if len(importMS) > 0 {
		t.Logf("completed imports took %d..%d ms (median %d); kill delay drawn from [0, %v)", importMS[0], importMS[len(importMS)-1], importMS[len(importMS)/2], importTime)
	}
	t.Logf("%d kills (%d during an import), %d full chains, versions served after a kill: %v", kills, midImport, resets, versionsSeen)
	if midImport < 34 {
		t.Errorf("only %d of %d kills hit an import in progress", midImport, kills)
	}
}

func powerCutChild(dir string) {
	s, err := Open(filepath.Join(dir, "g.db"), Options{Key: mustKey(), Batch: 250})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	st, _ := s.Status(testNow)
	var active uint64
	if st.Active {
		active = st.Manifest.Version
	}
	for v := active + 1; v <= pcVersions; v++ {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("b%02d", v)))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("START", v)
		start := time.Now()
		if _, err := s.Import(context.Background(), bufio.NewReader(f), verifyOpts()); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		f.Close()
		fmt.Println("OK", v, time.Since(start).Milliseconds())
	}
	fmt.Println("DONE")
	os.Exit(0)
}

func mustKey() *Key {
	k, err := NewKey(testRaw)
	if err != nil {
		panic(err)
	}
	return k
}

// importTime bounds the random kill delay: about how long one import of
// the chain takes on this machine (the child logs it on its OK lines).
const importTime = 60 * time.Millisecond
