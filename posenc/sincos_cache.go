package posenc

import (
	"fmt"
	"sync"
)

// maxTableValues caps the size of any table built here (1 GiB of float32),
// so that no grid from outside can make an encoder allocate without bound.
const maxTableValues = 1 << 28

// checkTableSize reports whether a table of rows×width values may be built.
func checkTableSize(what string, rows, width int) error {
	if rows <= 0 || width <= 0 || int64(rows)*int64(width) > maxTableValues {
		return fmt.Errorf("posenc: %s: %d×%d values is outside (0, %d]", what, rows, width, maxTableValues)
	}
	return nil
}

// perGridCache keeps what an encoder computed for the last few grids, so
// that a model running at one size builds its tables once.
type perGridCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// perGridCacheSize bounds the entries kept: a server seeing every image size
// must not grow without bound.
const perGridCacheSize = 16

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
	if c.m == nil || len(c.m) >= perGridCacheSize {
		c.m = map[K]V{}
	}
	c.m[key] = v
	return v, nil
}
