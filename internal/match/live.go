package match

import "sync/atomic"

// Live holds the index the lane currently matches against. Readers Load it
// once per search and keep using what they loaded, so a Swap never disturbs
// a search in flight. The zero Live holds no index.
type Live struct{ p atomic.Pointer[Index] }

// Load returns the current index, or nil if none was stored.
func (l *Live) Load() *Index { return l.p.Load() }

// Swap publishes ix and returns the index it replaces (nil if none).
func (l *Live) Swap(ix *Index) (old *Index) { return l.p.Swap(ix) }
