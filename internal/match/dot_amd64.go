//go:build amd64 && !purego

package match

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernel; tests turn it off to compare.
var useAVX2 = cpu.X86.HasAVX2

// dotsAVX2 is dotsI8 for rows of pad bytes (a multiple of 32); qa holds |q|.
//
//go:noescape
func dotsAVX2(q, qa, gal *int8, pad, n int, out *int32)

// dotsI8 writes to out[t] the inner product of q with row t of g (row
// stride len(q), a multiple of 32); qa is |q| elementwise.
func dotsI8(q, qa, g []int8, out []int32) {
	if len(out) == 0 {
		return
	}
	_ = g[len(out)*len(q)-1]
	_ = qa[len(q)-1]
	if useAVX2 {
		dotsAVX2(&q[0], &qa[0], &g[0], len(q), len(out), &out[0])
		return
	}
	dotsI8Go(q, g, out)
}
