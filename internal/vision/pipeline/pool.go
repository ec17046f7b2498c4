package pipeline

import (
	"sync"

	"gocv.io/x/gocv"
)

// matPool keeps a few 8-bit BGR Mats for reuse, so a stream of frames of
// one size allocates none after the first (TestMemoryFlat). gocv Mats hold
// C memory a sync.Pool could drop without closing, hence this small free
// list, emptied by close.
type matPool struct {
	keep int // most Mats kept free

	mu     sync.Mutex
	free   []gocv.Mat
	closed bool
}

// get returns a rows×cols CV_8UC3 Mat, reused when one of that size is free.
func (mp *matPool) get(rows, cols int) gocv.Mat {
	mp.mu.Lock()
	for i := len(mp.free) - 1; i >= 0; i-- {
		if m := mp.free[i]; m.Rows() == rows && m.Cols() == cols && m.Type() == gocv.MatTypeCV8UC3 {
			mp.free = append(mp.free[:i], mp.free[i+1:]...)
			mp.mu.Unlock()
			return m
		}
	}
	mp.mu.Unlock()
	return gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV8UC3)
}

// put gives m back; beyond keep free Mats (or after close) the oldest is
// closed.
func (mp *matPool) put(m gocv.Mat) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.closed {
		m.Close()
		return
	}
	mp.free = append(mp.free, m)
	if len(mp.free) > mp.keep {
		mp.free[0].Close()
		mp.free = append(mp.free[:0], mp.free[1:]...)
	}
}

// close frees every kept Mat; later puts close theirs.
func (mp *matPool) close() {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	mp.closed = true
	for _, m := range mp.free {
		m.Close()
	}
	mp.free = nil
}
