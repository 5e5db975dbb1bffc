package kernels

import "sync/atomic"

// phased is a low-precision GEMM call (GemmQuant's qCall, the bfloat16
// bCall) as its parallel run sees it: its row blocks are prepared first
// (quantized or rounded), then its items computed, each worker with a
// local scratch L.
type phased[L any] interface {
	counts() (rowBlocks, items int)
	prepare(rb int)
	local() *L
	item(l *L, it int)
	release(l *L)
}

// phasedPar is a phased call's state while it runs on several workers,
// kept on a free list so that a warm call allocates nothing.
type phasedPar[C, L any, P interface {
	*C
	phased[L]
}] struct {
	g     C
	items bool // the phase computes items (else it prepares row blocks)
	n     int
	next  atomic.Int64
	join  Join
}

// runPhased runs the call g on up to threads workers, one phase after the
// other, with its state from pool. g is a copy so that the caller's call
// stays on its stack.
func runPhased[C, L any, P interface {
	*C
	phased[L]
}](pool *freeList[phasedPar[C, L, P]], g C, threads int) {
	s := pool.get()
	if s == nil {
		s = new(phasedPar[C, L, P])
	}
	s.g = g
	rows, items := P(&s.g).counts()
	s.phase(threads, rows, false)
	s.phase(threads, items, true)
	var none C
	s.g = none // keep none of the caller's slices
	pool.put(s)
}

// phase runs n row blocks or items on up to threads workers.
func (s *phasedPar[C, L, P]) phase(threads, n int, items bool) {
	s.items, s.n = items, n
	s.next.Store(0)
	s.join.Run(s, min(threads, n))
}

// Run claims and runs the phase's work until none is left.
func (s *phasedPar[C, L, P]) Run(int) {
	g := P(&s.g)
	var l *L
	if s.items {
		l = g.local()
	}
	for {
		i := int(s.next.Add(1)) - 1
		if i >= s.n {
			break
		}
		if s.items {
			g.item(l, i)
		} else {
			g.prepare(i)
		}
	}
	if l != nil {
		g.release(l)
	}
}
