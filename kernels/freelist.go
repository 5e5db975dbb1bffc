package kernels

import (
	"runtime"
	"sync"
)

// freeList keeps scratch objects for reuse across kernel calls. Unlike a
// sync.Pool it is not emptied by garbage collections, so a warm caller
// never allocates (the ViT forward pass is allocation-free on top of it).
// It keeps at most a few objects per CPU: beyond that they are dropped for
// the collector, bounding what idle processes hold.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

// get returns a kept object, or nil when there is none.
func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.items)
	if n == 0 {
		return nil
	}
	x := f.items[n-1]
	f.items[n-1] = nil
	f.items = f.items[:n-1]
	return x
}

// put keeps x for a later get.
func (f *freeList[T]) put(x *T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.items) < 2*runtime.GOMAXPROCS(0)+2 {
		f.items = append(f.items, x)
	}
}

// grow returns s resliced to n, reallocating only when it is too small:
// scratch kept on a free list grows to the largest call it has served.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
