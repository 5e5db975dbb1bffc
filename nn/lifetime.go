package nn

import (
	"io"
	"sync"
)

// Lifetime guards what a model's forward passes read (a mapped file):
// Close waits for the passes in flight, then releases it; a pass that
// starts after Close is refused instead of touching unmapped memory.
type Lifetime struct {
	mu     sync.RWMutex
	closed bool
	closer io.Closer
}

// NewLifetime guards closer (may be nil).
func NewLifetime(closer io.Closer) *Lifetime { return &Lifetime{closer: closer} }

// Acquire marks a pass in flight; false once closed.
func (l *Lifetime) Acquire() bool {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return false
	}
	return true
}

// Release ends a pass that Acquire admitted.
func (l *Lifetime) Release() { l.mu.RUnlock() }

// Close waits for the passes in flight and releases the resource once.
func (l *Lifetime) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.closer != nil {
		return l.closer.Close()
	}
	return nil
}
