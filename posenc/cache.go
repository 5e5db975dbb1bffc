package posenc

import "sync"

// perGridCache keeps what an encoder computed for the most recent few grids
// (or other keys), so that a model running at one size builds its tables
// once; it is safe for concurrent use.
type perGridCache[K comparable, V any] struct {
	mu    sync.Mutex
	m     map[K]V
	order []K // the keys of m, oldest first
	limit int // entries kept; 0 means perGridCacheSize
}

// perGridCacheSize bounds the entries kept: a server sees a handful of image
// sizes; a stream of distinct sizes must not grow memory without bound.
const perGridCacheSize = 16

// get returns the value stored for key, calling build on a miss and storing
// its result (evicting the oldest entry when full). Two goroutines missing
// the same key may both build it; the first stored wins and both return it.
// Stored values are shared: callers must not modify them.
func (c *perGridCache[K, V]) get(key K, build func() (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[key]; ok {
		return prev, nil
	}
	if c.m == nil {
		c.m = map[K]V{}
	}
	limit := c.limit
	if limit <= 0 {
		limit = perGridCacheSize
	}
	if len(c.order) >= limit {
		delete(c.m, c.order[0])
		c.order = append(c.order[:0], c.order[1:]...)
	}
	c.m[key] = v
	c.order = append(c.order, key)
	return v, nil
}
