package match

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// FuzzKernels checks every available int8 kernel against the pure-Go one on
// arbitrary rows (bytes clamped to [-127, 127], as quantise guarantees).
func FuzzKernels(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(1))
	f.Add(slices.Repeat([]byte{0x80, 0x7f, 0x81, 0}, 64), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, padSel uint8) {
		pad := 32 * (1 + int(padSel%6))
		if len(data) < pad {
			return
		}
		b2i := func(b byte) int8 { return max(-127, int8(b)) }
		v := make([]float32, pad)
		for i := range v {
			v[i] = float32(b2i(data[i]))
		}
		if slices.Max(v) == 0 && slices.Min(v) == 0 {
			return
		}
		rows := (len(data) - pad) / pad
		g := make([]int8, rows*pad)
		for i := range g {
			g[i] = b2i(data[pad+i])
		}
		p := newQprobe(v, pad)
		want := make([]int32, rows)
		dotsI8Go(p.q, g, want)
		for _, k := range kernels() {
			restore := k.use()
			got := make([]int32, rows)
			dotsI8(p, g, got)
			restore()
			if !slices.Equal(got, want) {
				t.Fatalf("pad %d rows %d: %s kernel %v, Go %v", pad, rows, k.name, got, want)
			}
		}
	})
}

// FuzzSearch feeds arbitrary float32 bit patterns (NaN, Inf, denormals,
// zero, huge) as templates and probe: Add and Search must refuse or accept
// without panicking, and on a small index (every subject re-ranked) Search
// must give exactly Exact's results: distinct subjects, best first, scores
// within [-1, 1].
func FuzzSearch(f *testing.F) {
	f.Add([]byte("\x00\x00\x80\x3f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), uint8(3))
	f.Add(slices.Repeat([]byte{0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0}, 12), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		const dim = 4
		vec := func(i int) []float32 {
			v := make([]float32, dim)
			for j := range v {
				v[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[(i*dim+j)*4:]))
			}
			return v
		}
		n := len(data) / (4 * dim)
		if n < 2 {
			return
		}
		b := NewBuilder(dim, n)
		for i := 1; i < n; i++ {
			v := vec(i)
			err := b.Add(string(rune('a'+i%5)), v)
			if _, nerr := norm(v, dim); (err == nil) != (nerr == nil) {
				t.Fatalf("Add(%v) = %v, but norm says %v", v, err, nerr)
			}
		}
		ix, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		probe := [][]float32{vec(0)}
		got, gerr := ix.SearchBatch(probe, int(k%8))
		want, werr := ix.Exact(probe, int(k%8))
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("SearchBatch error %v, Exact error %v", gerr, werr)
		}
		if gerr != nil {
			return
		}
		if !slices.Equal(got[0], want[0]) {
			t.Fatalf("SearchBatch %v, Exact %v", got[0], want[0])
		}
		seen := map[string]bool{}
		for i, r := range got[0] {
			if seen[r.Subject] || r.Score < -1 || r.Score > 1 || (i > 0 && r.Score > got[0][i-1].Score) {
				t.Fatalf("bad results %v", got[0])
			}
			seen[r.Subject] = true
		}
	})
}
