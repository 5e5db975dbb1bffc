package nn

import (
	"sync"
	"sync/atomic"
)

// Pool keeps the buffers of concurrent callers (workspaces): one spare
// that garbage collections leave alone, for the steady single caller, and
// a sync.Pool for the others. The spare exists because sync.Pool drops its
// contents at garbage collections and keeps one per P: a caller that runs
// forward passes in a loop would otherwise now and then rebuild its
// buffers. The zero value is an empty pool.
type Pool[T any] struct {
	spare atomic.Pointer[T]
	pool  sync.Pool
}

// Get takes the spare, or one from the pool; nil when both are empty.
func (p *Pool[T]) Get() *T {
	if s := p.spare.Swap(nil); s != nil {
		return s
	}
	if s, ok := p.pool.Get().(*T); ok {
		return s
	}
	return nil
}

// Put gives x back for a later Get.
func (p *Pool[T]) Put(x *T) {
	if !p.spare.CompareAndSwap(nil, x) {
		p.pool.Put(x)
	}
}
