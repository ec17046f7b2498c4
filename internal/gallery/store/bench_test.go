package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/lanedtest"
)

// Bundles of realistic shape: 128-D templates of the face-api recogniser.
const (
	bigModel = "face-api-1.7.15/face_recognition_model"
	bigDim   = 128
)

func bigOpts() bundle.VerifyOptions {
	o := verifyOpts()
	o.ModelID, o.Dim = bigModel, bigDim
	return o
}

// writeSynthetic writes a full bundle of n one-template subjects with
// random templates and returns how long building took.
func writeSynthetic(tb testing.TB, path string, n int, version uint64) time.Duration {
	tb.Helper()
	start := time.Now()
	m := manifest(version)
	m.ModelID, m.Dim = bigModel, bigDim
	w, err := bundle.NewWriter(m, filepath.Dir(path))
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(n), version))
	t := make([]float32, bigDim)
	rec := &bundle.Record{Category: "expected-traveller", Templates: [][]float32{t}}
	for i := range n {
		for j := range t {
			t[j] = float32(rng.NormFloat64())
		}
		rec.Subject = fmt.Sprintf("subject-%08d", i)
		if err := w.Add(rec); err != nil {
			tb.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Finish(bw, testSign); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return time.Since(start)
}

func verifyFile(tb testing.TB, path string) {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := bundle.Verify(f, bigOpts()); err != nil {
		tb.Fatal(err)
	}
}

func importFile(tb testing.TB, s *Store, path string) {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := s.Import(context.Background(), f, bigOpts()); err != nil {
		tb.Fatal(err)
	}
}

func benchSizes() []int {
	if os.Getenv("LANED_BIG") != "" {
		return []int{10_000, 100_000, 1_000_000}
	}
	return []int{10_000, 100_000}
}

// BenchmarkBundle measures, per gallery size, building a bundle, verifying
// it, importing it into a fresh store, and loading the store into a match
// index (decrypt + parse + build): the lane's start-up.
func BenchmarkBundle(b *testing.B) {
	for _, n := range benchSizes() {
		dir := b.TempDir()
		path := filepath.Join(dir, "bundle")
		writeSynthetic(b, path, n, 1)
		b.Run(fmt.Sprintf("build/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				writeSynthetic(b, filepath.Join(dir, "again"), n, 1)
			}
			b.ReportMetric(float64(n), "records")
		})
		b.Run(fmt.Sprintf("verify/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				verifyFile(b, path)
			}
		})
		// Peer: reading and hashing the same file, the floor under verify.
		b.Run(fmt.Sprintf("peer-sha256/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				h := sha256.New()
				if _, err := io.Copy(h, f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run(fmt.Sprintf("import/n=%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				db := filepath.Join(dir, fmt.Sprintf("g%d.db", i))
				s, err := Open(db, Options{Key: testKey(b)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				importFile(b, s, path)
				b.StopTimer()
				s.Close()
				os.Remove(db)
				b.StartTimer()
			}
		})
		db := filepath.Join(dir, "load.db")
		s, err := Open(db, Options{Key: testKey(b)})
		if err != nil {
			b.Fatal(err)
		}
		importFile(b, s, path)
		b.Run(fmt.Sprintf("load/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				ix, _, err := s.LoadIndex(context.Background(), bigModel, bigDim, testNow)
				if err != nil || ix.Len() != n {
					b.Fatal(err)
				}
			}
		})
		s.Close()
		os.RemoveAll(dir)
	}
}

const bigChildEnv = "LANED_GALLERY_BIG_LOAD"

// TestBig (LANED_BIG=1, optionally LANED_BIG_N) builds, verifies and imports
// a 1M-record bundle and times each, then loads it in a fresh child process
// and reports the load time and RSS against the index's in-memory bytes.
func TestBig(t *testing.T) {
	if db := os.Getenv(bigChildEnv); db != "" {
		bigLoadChild(t, db)
		return
	}
	if os.Getenv("LANED_BIG") == "" {
		t.Skip("set LANED_BIG=1 for the 1M-record build/verify/import/load run")
	}
	n := 1_000_000
	if s := os.Getenv("LANED_BIG_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	if d := os.Getenv("LANED_BIG_DIR"); d != "" {
		dir = d // keep the files, e.g. to profile the load child
	}
	path := filepath.Join(dir, "bundle")
	cpu0 := lanedtest.CPUTime(t)
	took := writeSynthetic(t, path, n, 1)
	st, _ := os.Stat(path)
	t.Logf("build  %d records: %.1f s wall, %.1f s CPU (%d MB)", n, took.Seconds(), (lanedtest.CPUTime(t) - cpu0).Seconds(), st.Size()>>20)
	start, cpu0 := time.Now(), lanedtest.CPUTime(t)
	verifyFile(t, path)
	t.Logf("verify %d records: %.1f s wall, %.1f s CPU", n, time.Since(start).Seconds(), (lanedtest.CPUTime(t) - cpu0).Seconds())
	db := filepath.Join(dir, "g.db")
	s, err := Open(db, Options{Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	start, cpu0 = time.Now(), lanedtest.CPUTime(t)
	importFile(t, s, path)
	dst, _ := os.Stat(db)
	t.Logf("import %d records: %.1f s wall, %.1f s CPU (store %d MB)", n, time.Since(start).Seconds(), (lanedtest.CPUTime(t) - cpu0).Seconds(), dst.Size()>>20)
	t.Logf("load average during the run: %s", loadavg())
	s.Close()
	os.Remove(path)

	cmd := exec.Command(os.Args[0], "-test.run=^TestBig$", "-test.v")
	cmd.Env = append(os.Environ(), bigChildEnv+"="+db)
	out, err := cmd.CombinedOutput()
	for _, ln := range strings.Split(string(out), "\n") {
		if strings.Contains(ln, "child:") {
			t.Log(strings.TrimSpace(ln))
		}
	}
	if err != nil {
		t.Fatalf("load child: %v\n%s", err, out)
	}
}

func bigLoadChild(t *testing.T, db string) {
	debug.FreeOSMemory()
	base := procStatus("VmRSS")
	s, err := Open(db, Options{Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Sample anonymous RSS during the load: VmHWM also counts the store's
	// mmapped file pages, which are page cache, not the lane's memory.
	var peakAnon atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if a := procStatus("RssAnon"); a > peakAnon.Load() {
				peakAnon.Store(a)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start, cpu0 := time.Now(), lanedtest.CPUTime(t)
	ix, _, err := s.LoadIndex(context.Background(), bigModel, bigDim, testNow)
	if err != nil {
		t.Fatal(err)
	}
	took, cpu := time.Since(start), lanedtest.CPUTime(t)-cpu0
	close(stopSampling)
	<-sampled
	debug.FreeOSMemory()
	open := procStatus("VmRSS")
	anon := procStatus("RssAnon")
	s.Close()
	debug.FreeOSMemory()
	closed := procStatus("VmRSS")
	peak := procStatus("VmHWM")
	rep := ix.Bytes() >> 10
	t.Logf("child: load %d templates: %.2f s wall, %.2f s CPU (user+sys) on %d CPUs", ix.Len(), took.Seconds(), cpu.Seconds(), runtime.GOMAXPROCS(0))
	t.Logf("child: index representation %d MB; RSS before open %d MB; after load, store open %d MB (anon %d MB); store closed %d MB; peak %d MB",
		rep>>10, base>>10, open>>10, anon>>10, closed>>10, peak>>10)
	t.Logf("child: (RSS closed - base) / representation = %.3f; (anon - base) / representation = %.3f; peak anon during load %d MB = %.3f x representation",
		float64(closed-base)/float64(rep), float64(anon-base)/float64(rep), peakAnon.Load()>>10, float64(peakAnon.Load()-base)/float64(rep))
	runtime.KeepAlive(ix)
}

// procStatus returns a /proc/self/status field in KiB.
func procStatus(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, ln := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(ln, field+":") {
			f := strings.Fields(ln)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}
