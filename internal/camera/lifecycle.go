package camera

import "sync"

// lifecycle lets Close wait for a running Run, and keeps Run from
// starting after Close.
type lifecycle struct {
	mu      sync.Mutex
	closed  bool
	running bool
	exited  chan struct{}
}

// start reports whether Run may go on (Close was not called).
func (l *lifecycle) start() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.running {
		return false
	}
	l.running = true
	l.exited = make(chan struct{})
	return true
}

// done marks Run returned.
func (l *lifecycle) done() {
	l.mu.Lock()
	close(l.exited)
	l.mu.Unlock()
}

// close forbids new Runs and waits for a running one.
func (l *lifecycle) close() {
	l.mu.Lock()
	l.closed = true
	var wait chan struct{}
	if l.running {
		wait = l.exited
	}
	l.mu.Unlock()
	if wait != nil {
		<-wait
	}
}
