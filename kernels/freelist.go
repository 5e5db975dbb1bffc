package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// freeList keeps scratch objects for reuse across kernel calls. Unlike a
// sync.Pool it is not emptied by garbage collections, so a warm caller
// never allocates (the ViT forward pass is allocation-free on top of it).
//
// Which object serves which call, and how many workers are inside a kernel
// at once, depend on scheduling. So the list does not let an object's size
// depend on the calls it happened to serve: every object it keeps has each
// scratch field at the largest capacity any of its objects has needed (the
// high water, raised as objects come back), and once a Workers of n has
// been started (ReserveScratch) it holds n objects. A call no larger than
// one already served then finds a large enough object whichever worker
// makes it, however the workers interleave. Beyond the reserve it keeps at
// most a few objects per CPU: the rest are dropped for the collector,
// bounding what idle processes hold.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
	made  int        // objects handed out by get as nil (the caller made them) or made here, not dropped
	hw    fieldSizes // the high water of each scratch field of T
}

// fieldSizes is the high-water capacity of each slice field of a scratch
// type, in the order its fit method lists them.
type fieldSizes [17]int

// reservedScratch is the most workers any one pool may run kernels with at
// once (ReserveScratch).
var reservedScratch atomic.Int64

// ReserveScratch says that up to workers goroutines may run kernels at
// once (a worker pool of that size, the caller included): each scratch
// free list then keeps that many objects, each at the list's high-water
// size, so a warm caller does not allocate when more of its workers than
// ever before happen to be inside one kernel together. It only raises the
// reserve; workers ≤ 0 does nothing.
func ReserveScratch(workers int) {
	for {
		old := reservedScratch.Load()
		if int64(workers) <= old || reservedScratch.CompareAndSwap(old, int64(workers)) {
			return
		}
	}
}

// get returns a kept object, or nil when there is none (the caller makes
// one and puts it back when done).
func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.items)
	if n == 0 {
		f.made++
		return nil
	}
	x := f.items[n-1]
	f.items[n-1] = nil
	f.items = f.items[:n-1]
	return x
}

// put keeps x for a later get, at the list's high-water size, and tops the
// list up to the reserve.
func (f *freeList[T]) put(x *T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fit(x) {
		// x raised the high water: the kept objects follow now (those
		// still out follow when they come back).
		for _, y := range f.items {
			f.fit(y)
		}
	}
	reserve := int(reservedScratch.Load())
	keep := max(2*runtime.GOMAXPROCS(0)+2, reserve)
	if len(f.items) >= keep {
		f.made--
		return
	}
	f.items = append(f.items, x)
	for f.made < reserve && len(f.items) < keep {
		y := new(T)
		f.fit(y)
		f.items = append(f.items, y)
		f.made++
	}
}

// fit brings x to the high water (a type without slices has none).
func (f *freeList[T]) fit(x *T) bool { return fitScratch(x, &f.hw) }

// fitField is a scratch type's fit for one slice field: it records a larger
// capacity in hw, or regrows a smaller slice to hw (scratch contents are
// not kept across calls; the length is).
func fitField[E any](s *[]E, hw *int) bool {
	switch c := cap(*s); {
	case c > *hw:
		*hw = c
		return true
	case c < *hw:
		*s = make([]E, len(*s), *hw)
	}
	return false
}

// grow returns s resliced to n, reallocating only when it is too small:
// scratch kept on a free list grows to the largest call any of the list's
// objects has served.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
