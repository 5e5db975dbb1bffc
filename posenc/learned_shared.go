package posenc

// Shared returns the table resampled to g (Prefix() rows, then g.H×g.W
// patch rows, Dim() values each) from the per-grid cache, without a copy:
// for families that add it in their own token order (Hiera's unrolled
// tokens). The slice is shared: callers must not modify it.
func (l *Learned) Shared(g Grid) ([]float32, error) { return l.tableFor(g) }
