package match

import "math"

// quantise writes v (normalised, len(v) <= len(dst)) as int8 into dst,
// scaled so that its largest magnitude maps to 127, pads dst with zeros and
// returns 1/scale. Values stay within [-127, 127]: the AVX2 kernel relies on
// it (no -128, so |x| fits in a signed byte and pair sums fit in int16).
func quantise(dst []int8, v []float32) float32 {
	var m float32
	for _, x := range v {
		if x < 0 {
			x = -x
		}
		m = max(m, x)
	}
	if m == 0 {
		clear(dst)
		return 0
	}
	scale := 127 / float64(m)
	for i, x := range v {
		r := math.Round(float64(x) * scale)
		dst[i] = int8(max(-127, min(127, r)))
	}
	clear(dst[len(v):])
	return float32(1 / scale)
}

// qprobe is a probe quantised for the kernels: q as int8, and what the
// assembly kernels also need: |q| (AVX2) and 128*sum(q) (VNNI).
type qprobe struct {
	q, qa []int8
	corr  int32
}

func newQprobe(v []float32, pad int) *qprobe {
	p := &qprobe{q: make([]int8, pad), qa: make([]int8, pad)}
	quantise(p.q, v)
	for i, x := range p.q {
		p.qa[i] = max(x, -x)
		p.corr += 128 * int32(x)
	}
	return p
}

// dotF32 is the float32 inner product (4 accumulators).
func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotsI8Go writes to out[t] the inner product of probe q with each of the
// len(out) rows of g (row stride len(q), a multiple of 16): the pure-Go
// kernel, used where the assembly one is not available.
func dotsI8Go(q []int8, g []int8, out []int32) {
	p := len(q)
	for t := range out {
		r := g[t*p : (t+1)*p : (t+1)*p]
		var s0, s1, s2, s3 int32
		for i := 0; i+16 <= p; i += 16 {
			a := q[i : i+16 : i+16]
			b := r[i : i+16 : i+16]
			s0 += int32(a[0])*int32(b[0]) + int32(a[4])*int32(b[4]) + int32(a[8])*int32(b[8]) + int32(a[12])*int32(b[12])
			s1 += int32(a[1])*int32(b[1]) + int32(a[5])*int32(b[5]) + int32(a[9])*int32(b[9]) + int32(a[13])*int32(b[13])
			s2 += int32(a[2])*int32(b[2]) + int32(a[6])*int32(b[6]) + int32(a[10])*int32(b[10]) + int32(a[14])*int32(b[14])
			s3 += int32(a[3])*int32(b[3]) + int32(a[7])*int32(b[7]) + int32(a[11])*int32(b[11]) + int32(a[15])*int32(b[15])
		}
		out[t] = (s0 + s1) + (s2 + s3)
	}
}
