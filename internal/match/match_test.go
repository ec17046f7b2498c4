package match

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func mustBuild(t testing.TB, dim int, tmpls map[string][][]float32) *Index {
	t.Helper()
	b := NewBuilder(dim, 0)
	names := make([]string, 0, len(tmpls))
	for s := range tmpls {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		for _, v := range tmpls[s] {
			if err := b.Add(s, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	ix, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestAddRejects(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	tests := []struct {
		name, subject string
		v             []float32
		want          []string // substrings of the error
	}{
		{"short", "alice", []float32{1, 2}, []string{`"alice"`, "dimension 2, want 3"}},
		{"long", "bob", []float32{1, 2, 3, 4}, []string{`"bob"`, "dimension 4, want 3"}},
		{"nan", "carol", []float32{1, nan, 0}, []string{`"carol"`, "element 1 is NaN"}},
		{"+inf", "dave", []float32{inf, 0, 0}, []string{`"dave"`, "element 0 is +Inf"}},
		{"-inf", "erin", []float32{0, 0, -inf}, []string{`"erin"`, "element 2 is -Inf"}},
		{"zero", "frank", []float32{0, 0, 0}, []string{`"frank"`, "zero"}},
		{"empty subject", "", []float32{1, 0, 0}, []string{"empty subject id"}},
		{"nil", "hal", nil, []string{`"hal"`, "dimension 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(3, 1)
			err := b.Add(tt.subject, tt.v)
			if err == nil {
				t.Fatal("Add accepted a bad template")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if b.Len() != 0 {
				t.Errorf("rejected template was kept: Len = %d", b.Len())
			}
		})
	}
}

func TestBuilderMisuse(t *testing.T) {
	if _, err := NewBuilder(0, 10).Build(); err == nil || !strings.Contains(err.Error(), "dimension 0") {
		t.Errorf("Build with dim 0: %v", err)
	}
	if err := NewBuilder(-1, 10).Add("x", nil); err == nil || !strings.Contains(err.Error(), "not positive") {
		t.Errorf("Add with dim -1: %v", err)
	}
	b := NewBuilder(2, 0)
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(); err == nil {
		t.Error("second Build succeeded")
	}
	if err := b.Add("x", []float32{1, 0}); err == nil || !strings.Contains(err.Error(), "already built") {
		t.Errorf("Add after Build: %v", err)
	}
}

func TestSearchRejects(t *testing.T) {
	ix := mustBuild(t, 3, map[string][][]float32{"a": {{1, 0, 0}}})
	tests := []struct {
		name   string
		probes [][]float32
		k      int
		want   string
	}{
		{"k zero", [][]float32{{1, 0, 0}}, 0, "k = 0"},
		{"k negative", [][]float32{{1, 0, 0}}, -3, "k = -3"},
		{"wrong dim", [][]float32{{1, 0, 0}, {1, 0}}, 1, "probe 1: vector has dimension 2, want 3"},
		{"nan", [][]float32{{float32(math.NaN()), 0, 0}}, 1, "probe 0: vector element 0 is NaN"},
		{"zero", [][]float32{{0, 0, 0}}, 1, "probe 0: vector has zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, search := range map[string]func([][]float32, int) ([][]Result, error){
				"SearchBatch": ix.SearchBatch, "Exact": ix.Exact,
			} {
				if _, err := search(tt.probes, tt.k); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: error %v, want %q", name, err, tt.want)
				}
			}
		})
	}
}

func TestSearchSmall(t *testing.T) {
	ix := mustBuild(t, 3, map[string][][]float32{
		"alice": {{1, 0, 0}, {0.8, 0.6, 0}}, // two templates: the best one counts
		"bob":   {{0, 5, 0}},                // not normalised on input
		"carol": {{0, 0, 1}},
		"dave":  {{-1, 0, 0}},
	})
	if ix.Len() != 5 || ix.Subjects() != 4 || ix.Dim() != 3 {
		t.Fatalf("Len %d Subjects %d Dim %d, want 5 4 3", ix.Len(), ix.Subjects(), ix.Dim())
	}
	tests := []struct {
		name  string
		probe []float32
		k     int
		want  []string
		score []float32
	}{
		{"own template", []float32{2, 0, 0}, 1, []string{"alice"}, []float32{1}},
		{"best template of alice", []float32{0.6, 0.8, 0}, 2, []string{"alice", "bob"}, []float32{0.96, 0.8}},
		{"distinct subjects", []float32{1, 0.1, 0}, 3, []string{"alice", "bob", "carol"}, []float32{0.9950, 0.0995, 0}},
		{"k beyond subjects", []float32{0, 0, 1}, 10, []string{"carol", "alice", "bob", "dave"}, []float32{1, 0, 0, 0}},
		{"k = MaxInt", []float32{0, 0, 1}, math.MaxInt, []string{"carol", "alice", "bob", "dave"}, []float32{1, 0, 0, 0}},
		{"opposite", []float32{-1, 0, 0}, 2, []string{"dave", "bob"}, []float32{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, search := range map[string]func([][]float32, int) ([][]Result, error){
				"SearchBatch": ix.SearchBatch, "Exact": ix.Exact,
			} {
				rs, err := search([][]float32{tt.probe}, tt.k)
				if err != nil {
					t.Fatal(err)
				}
				got := rs[0]
				if len(got) != len(tt.want) {
					t.Fatalf("%s: %d results %v, want %v", name, len(got), got, tt.want)
				}
				for i, r := range got {
					if r.Subject != tt.want[i] || math.Abs(float64(r.Score-tt.score[i])) > 1e-4 {
						t.Errorf("%s: result %d = %+v, want %s %.4f", name, i, r, tt.want[i], tt.score[i])
					}
					if d := math.Sqrt(2 - 2*float64(r.Score)); math.Abs(d-float64(r.Distance)) > 1e-4 {
						t.Errorf("%s: %s distance %v, want sqrt(2-2s) = %v", name, r.Subject, r.Distance, d)
					}
				}
			}
		})
	}
}

func TestEmptyIndex(t *testing.T) {
	ix, err := NewBuilder(4, 0).Build()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ix.Search([]float32{1, 2, 3, 4}, 3)
	if err != nil || len(rs) != 0 {
		t.Errorf("Search on empty index: %v, %v", rs, err)
	}
	if ix.Bytes() != 4 { // first[] holds one offset
		t.Errorf("Bytes of empty index = %d", ix.Bytes())
	}
}

// kernel is one int8 dot-product kernel the machine can run.
type kernel struct {
	name       string
	avx2, vnni bool
}

// kernels lists the kernels available here, the best (the default) first.
func kernels() []kernel {
	var ks []kernel
	if useVNNI {
		ks = append(ks, kernel{"vnni", true, true})
	}
	if useAVX2 {
		ks = append(ks, kernel{"avx2", true, false})
	}
	return append(ks, kernel{"go", false, false})
}

// use selects k until the returned function is called.
func (k kernel) use() (restore func()) {
	a, v := useAVX2, useVNNI
	useAVX2, useVNNI = k.avx2, k.vnni
	return func() { useAVX2, useVNNI = a, v }
}

func TestKernelsAgree(t *testing.T) {
	ks := kernels()
	if len(ks) == 1 {
		t.Skip("no assembly kernel on this machine")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, pad := range []int{32, 64, 96, 128, 160, 512} {
		for _, fill := range []string{"random", "max", "min", "mixed extremes"} {
			for _, rows := range []int{1, 3, 4, 37} {
				val := func(i int) int8 {
					switch fill {
					case "max":
						return 127
					case "min":
						return -127
					case "mixed extremes":
						return int8(127 * (1 - 2*(i%2)) * (1 - 2*(i/3%2)))
					}
					return int8(r.IntN(255) - 127)
				}
				v := make([]float32, pad)
				for i := range v {
					v[i] = float32(val(i + 1))
				}
				p := newQprobe(v, pad) // the largest magnitude maps to 127: p.q == v
				g := make([]int8, pad*rows)
				for i := range g {
					g[i] = val(i)
				}
				want := make([]int32, rows)
				dotsI8Go(p.q, g, want)
				for i := range want { // the Go kernel against the definition
					var s int32
					for j := range pad {
						s += int32(p.q[j]) * int32(g[i*pad+j])
					}
					if s != want[i] {
						t.Fatalf("pad %d %s: Go kernel row %d = %d, want %d", pad, fill, i, want[i], s)
					}
				}
				for _, k := range ks {
					restore := k.use()
					got := make([]int32, rows)
					dotsI8(p, g, got)
					restore()
					if !slices.Equal(got, want) {
						t.Errorf("pad %d %s rows %d: %s kernel %v, Go %v", pad, fill, rows, k.name, got[:min(4, rows)], want[:min(4, rows)])
					}
				}
			}
		}
	}
}

// TestSearchAgreesWithExact checks the int8 scan + re-ranking against the
// float scan on both the one-goroutine and the sharded path and with both
// kernels.
func TestSearchAgreesWithExact(t *testing.T) {
	s := newSynth(128, 7)
	for _, n := range []int{1000, minParallel + 1000} {
		ix, nIdent, err := s.build(n)
		if err != nil {
			t.Fatal(err)
		}
		probes, _ := s.probes(200, nIdent)
		want, err := ix.Exact(probes, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kernels() {
			restore := k.use()
			got, err := ix.SearchBatch(probes, 5)
			restore()
			if err != nil {
				t.Fatal(err)
			}
			miss := 0
			for p := range want {
				if !slices.Equal(got[p], want[p]) {
					miss++
				}
			}
			// The top 5 may differ only when the scan drops a close 5th.
			if miss > 2 {
				t.Errorf("n=%d kernel %s: %d of %d probes' top 5 differ from exact search", n, k.name, miss, len(want))
			}
			one, err := ix.Search(probes[3], 5)
			if err != nil || !slices.Equal(one, got[3]) {
				t.Errorf("n=%d: Search %v differs from SearchBatch %v (%v)", n, one, got[3], err)
			}
		}
	}
}

// recallAt1 is the share of probes whose top subject is exact search's (or
// scores the same).
func recallAt1(got, want [][]Result) float64 {
	hit := 0
	for p := range want {
		if len(got[p]) > 0 && len(want[p]) > 0 &&
			(got[p][0].Subject == want[p][0].Subject || got[p][0].Score == want[p][0].Score) {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

func TestRecall100k(t *testing.T) {
	n, np := 100_000, 1000
	if testing.Short() {
		n, np = 20_000, 300
	}
	s := newSynth(128, 42)
	ix, nIdent, err := s.build(n)
	if err != nil {
		t.Fatal(err)
	}
	probes, who := s.probes(np, nIdent)
	want, err := ix.Exact(probes, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.SearchBatch(probes, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := recallAt1(got, want)
	// The generator must make a gallery where identification works (most
	// mated probes find their own subject), or recall proves little.
	own, mated := 0, 0
	for p, w := range who {
		if w != "" {
			mated++
			if want[p][0].Subject == w {
				own++
			}
		}
	}
	t.Logf("n=%d probes=%d identities=%d recall@1=%.4f exact rank-1 identification of mated probes=%.3f",
		n, np, nIdent, rec, float64(own)/float64(mated))
	if rec < 0.999 {
		t.Errorf("recall@1 = %.4f, want >= 0.999", rec)
	}
	if float64(own)/float64(mated) < 0.9 {
		t.Errorf("synthetic gallery too hard: exact search finds only %d of %d mated probes", own, mated)
	}
}

// TestTies: equal scores rank by subject id whatever the insertion order,
// in both searches and on both the one-goroutine and the sharded path.
func TestTies(t *testing.T) {
	for _, n := range []int{10, minParallel + 10} {
		for _, order := range [][]string{{"zed", "amy"}, {"amy", "zed"}} {
			b := NewBuilder(2, n)
			for i := 0; i < n-2; i++ { // fillers, far from the probe
				if err := b.Add("filler"+strconv.Itoa(i), []float32{-1, float32(i%7) / 10}); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range order {
				if err := b.Add(s, []float32{3, 4}); err != nil {
					t.Fatal(err)
				}
			}
			ix, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			for name, search := range map[string]func([][]float32, int) ([][]Result, error){
				"SearchBatch": ix.SearchBatch, "Exact": ix.Exact,
			} {
				rs, err := search([][]float32{{0.6, 0.8}}, 1)
				if err != nil || len(rs[0]) != 1 || rs[0][0].Subject != "amy" {
					t.Errorf("n=%d order %v %s: %v %v, want amy", n, order, name, rs, err)
				}
			}
		}
	}
}
