//go:build !amd64 || purego

package match

// No assembly kernels here.
var useAVX2, useVNNI = false, false

// dotsI8 writes to out[t] the inner product of the probe with row t of g
// (row stride len(p.q), a multiple of 32).
func dotsI8(p *qprobe, g []int8, out []int32) {
	dotsI8Go(p.q, g, out)
}
