package onednn

/*
#cgo CXXFLAGS: -std=c++17 -O2
#cgo LDFLAGS: -ldnnl
#include <stdlib.h>
#include "engine.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// cerr turns an error message from engine.cpp into a Go error and frees it.
func cerr(op string, msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return fmt.Errorf("%s: %s", op, C.GoString(msg))
}

func ptr64(v []int64) *C.int64_t {
	if len(v) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&v[0]))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

type poolKind C.int

const (
	poolMax        poolKind = C.LND_POOL_MAX
	poolAvgExclude poolKind = C.LND_POOL_AVG_EXCLUDE
	poolAvgInclude poolKind = C.LND_POOL_AVG_INCLUDE
)

type binaryKind C.int

const (
	opAdd binaryKind = C.LND_ADD
	opSub binaryKind = C.LND_SUB
	opDiv binaryKind = C.LND_DIV
)

// net is the cgo handle; only the builder and the worker thread touch it.
type net struct{ p *C.lnd_net }

func newNet() (*net, error) {
	var p *C.lnd_net
	if err := cerr("create onednn engine", C.lnd_new(&p)); err != nil {
		return nil, err
	}
	return &net{p: p}, nil
}

func (n *net) free() {
	if n.p != nil {
		C.lnd_free(n.p)
		n.p = nil
	}
}

func (n *net) input(dims []int64) (int, error) {
	var id C.int
	err := cerr("input", C.lnd_input(n.p, C.int(len(dims)), ptr64(dims), &id))
	return int(id), err
}

func (n *net) constant(dims []int64, data []float32) (int, error) {
	if len(data) == 0 {
		return 0, errors.New("constant: no values")
	}
	var id C.int
	err := cerr("constant", C.lnd_const(n.p, C.int(len(dims)), ptr64(dims), (*C.float)(unsafe.Pointer(&data[0])), &id))
	return int(id), err
}

// conv: prelu is a slope constant's id, or -1.
func (n *net) conv(src, w, b int, strides, pads, dil []int64, group int64, relu bool, prelu, sumInto int) (int, error) {
	var id C.int
	err := cerr("conv", C.lnd_conv(n.p, C.int(src), C.int(w), C.int(b), ptr64(strides), ptr64(pads), ptr64(dil),
		C.int64_t(group), cbool(relu), C.int(prelu), C.int(sumInto), &id))
	return int(id), err
}

func (n *net) pool(src int, kind poolKind, kernel, strides, pads []int64) (int, error) {
	var id C.int
	err := cerr("pool", C.lnd_pool(n.p, C.int(src), C.int(kind), ptr64(kernel), ptr64(strides), ptr64(pads), &id))
	return int(id), err
}

func (n *net) globalAvgPool(src int) (int, error) {
	var id C.int
	err := cerr("global average pool", C.lnd_global_avg_pool(n.p, C.int(src), &id))
	return int(id), err
}

func (n *net) pad(src int, pads []int64) (int, error) {
	var id C.int
	err := cerr("pad", C.lnd_pad(n.p, C.int(src), ptr64(pads), &id))
	return int(id), err
}

func (n *net) binary(kind binaryKind, a, b int, relu bool) (int, error) {
	var id C.int
	err := cerr("binary", C.lnd_binary(n.p, C.int(kind), C.int(a), C.int(b), cbool(relu), &id))
	return int(id), err
}

func (n *net) relu(src int) (int, error) {
	var id C.int
	err := cerr("relu", C.lnd_relu(n.p, C.int(src), &id))
	return int(id), err
}

func (n *net) prelu(src, slope int) (int, error) {
	var id C.int
	err := cerr("prelu", C.lnd_prelu(n.p, C.int(src), C.int(slope), &id))
	return int(id), err
}

func (n *net) reshape(src int, dims []int64) (int, error) {
	var id C.int
	err := cerr("reshape", C.lnd_reshape(n.p, C.int(src), C.int(len(dims)), ptr64(dims), &id))
	return int(id), err
}

func (n *net) transpose(src int, perm []int64) (int, error) {
	var id C.int
	err := cerr("transpose", C.lnd_transpose(n.p, C.int(src), ptr64(perm), &id))
	return int(id), err
}

func (n *net) concat(srcs []int, axis int64) (int, error) {
	cs := make([]C.int, len(srcs))
	for i, s := range srcs {
		cs[i] = C.int(s)
	}
	var id C.int
	err := cerr("concat", C.lnd_concat(n.p, C.int(len(cs)), &cs[0], C.int64_t(axis), &id))
	return int(id), err
}

func (n *net) gemm(a, b int, transB bool, c int, relu bool) (int, error) {
	var id C.int
	err := cerr("gemm", C.lnd_gemm(n.p, C.int(a), C.int(b), cbool(transB), C.int(c), cbool(relu), &id))
	return int(id), err
}

func (n *net) steps() (int, error) {
	var c C.int
	err := cerr("steps", C.lnd_steps(n.p, &c))
	return int(c), err
}

func (n *net) dims(id int) ([]int64, error) {
	var rank C.int
	d := make([]int64, 8)
	if err := cerr("dims", C.lnd_dims(n.p, C.int(id), &rank, ptr64(d))); err != nil {
		return nil, err
	}
	return d[:rank], nil
}

// run writes the outputs one after another into dst.
func (n *net) run(in int, data []float32, outs []C.int, dst []float32) error {
	return cerr("run", C.lnd_run(n.p, C.int(in), (*C.float)(unsafe.Pointer(&data[0])), C.int64_t(len(data)),
		C.int(len(outs)), &outs[0], (*C.float)(unsafe.Pointer(&dst[0])), C.int64_t(len(dst))))
}

// All oneDNN calls of the process run on one OS thread, locked for good,
// so oneDNN's OpenMP has one master thread and so one thread team. libgomp
// counts every master's team, and once it manages more threads than there
// are CPUs it stops spinning between parallel regions: each of the
// recogniser's ~60 primitives then pays a futex wake-up (measured: 6 ms a
// face instead of 3.3 when the net was built on one thread and run on
// another).
var (
	workerOnce sync.Once
	jobs       chan func()
)

// onThread runs f on the oneDNN thread and waits for it.
func onThread(f func()) {
	workerOnce.Do(func() {
		jobs = make(chan func())
		go func() {
			runtime.LockOSThread()
			for job := range jobs {
				job()
			}
		}()
	})
	done := make(chan struct{})
	jobs <- func() {
		defer close(done)
		f()
	}
	<-done
}

// Net runs one checked ONNX graph on oneDNN's CPU engine. It is safe for
// concurrent use; calls run one at a time.
type Net struct {
	inShape   []int64
	inLen     int
	outNames  []string
	outShapes [][]int64
	outLen    int // all outputs
	in        int
	outs      []C.int // engine tensors

	mu     sync.Mutex
	n      *net
	closed bool
}

// InputShape is the dims of the graph's one input.
func (m *Net) InputShape() []int64 { return slices.Clone(m.inShape) }

// OutputShape is the dims of the graph's first output.
func (m *Net) OutputShape() []int64 { return slices.Clone(m.outShapes[0]) }

// OutputNames are the graph's outputs, in the order ForwardAll returns them.
func (m *Net) OutputNames() []string { return slices.Clone(m.outNames) }

// Steps is how many oneDNN primitives one Forward runs (after fusion).
func (m *Net) Steps() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	var n int
	var err error
	onThread(func() { n, err = m.n.steps() })
	return n, err
}

// ErrClosed is returned by Forward after Close.
var ErrClosed = errors.New("onednn: net is closed")

// Forward runs the net on in (row-major, InputShape) and returns its first
// output (row-major, OutputShape).
func (m *Net) Forward(in []float32) ([]float32, error) {
	outs, err := m.ForwardAll(in)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// ForwardAll runs the net on in and returns every output, in the graph's
// order (OutputNames), each row-major.
func (m *Net) ForwardAll(in []float32) ([][]float32, error) {
	if len(in) != m.inLen {
		return nil, fmt.Errorf("onednn forward: input has %d values, want %d for %v", len(in), m.inLen, m.inShape)
	}
	buf := make([]float32, m.outLen)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var err error
	onThread(func() { err = m.n.run(m.in, in, m.outs, buf) })
	if err != nil {
		return nil, fmt.Errorf("onednn forward: %w", err)
	}
	outs := make([][]float32, len(m.outShapes))
	for i, sh := range m.outShapes {
		k := volume(sh)
		outs[i], buf = buf[:k:k], buf[k:]
	}
	return outs, nil
}

// Close frees the engine. It is idempotent; Forward after Close returns
// ErrClosed.
func (m *Net) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		onThread(m.n.free)
	}
	return nil
}
