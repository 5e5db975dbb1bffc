package posenc

// GridCache keeps a table per grid for the most recent few grids, as every
// encoding of this package does: for a family's own tables built from
// posenc's (NaFlex's aspect-preserving one). It is safe for concurrent use
// and builds outside its lock. The zero value is an empty cache.
type GridCache[V any] struct{ c perGridCache[Grid, V] }

// Get returns the value stored for g, calling build on a miss. Stored
// values are shared: callers must not modify them.
func (c *GridCache[V]) Get(g Grid, build func() (V, error)) (V, error) { return c.c.get(g, build) }
