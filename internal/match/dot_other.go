//go:build !amd64 || purego

package match

// useAVX2 is false where there is no assembly kernel.
var useAVX2 = false

// dotsI8 writes to out[t] the inner product of q with row t of g (row
// stride len(q), a multiple of 32); qa (|q|) is unused here.
func dotsI8(q, qa, g []int8, out []int32) {
	dotsI8Go(q, g, out)
}
