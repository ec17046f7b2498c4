//go:build amd64 && !purego

package match

import "golang.org/x/sys/cpu"

// The assembly kernels; tests and benchmarks turn them off to compare.
var (
	useAVX2 = cpu.X86.HasAVX2
	useVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI
)

// dotsAVX2 is dotsI8 for rows of pad bytes (a multiple of 32); qa holds |q|.
//
//go:noescape
func dotsAVX2(q, qa, gal *int8, pad, n int, out *int32)

// dotsVNNI is dotsI8 for rows of pad bytes (a multiple of 64); corr is
// 128*sum(q).
//
//go:noescape
func dotsVNNI(q, gal *int8, pad, n int, corr int32, out *int32)

// dotsI8 writes to out[t] the inner product of the probe with row t of g
// (row stride len(p.q), a multiple of 32).
func dotsI8(p *qprobe, g []int8, out []int32) {
	if len(out) == 0 {
		return
	}
	q := p.q
	_ = g[len(out)*len(q)-1]
	switch {
	case useVNNI && len(q)%64 == 0:
		dotsVNNI(&q[0], &g[0], len(q), len(out), p.corr, &out[0])
	case useAVX2:
		_ = p.qa[len(q)-1]
		dotsAVX2(&q[0], &p.qa[0], &g[0], len(q), len(out), &out[0])
	default:
		dotsI8Go(q, g, out)
	}
}
