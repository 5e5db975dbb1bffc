package hiera

// FLOPsFor counts the floating-point operations (2 per multiply-add) of
// forward passes over images of these sizes (H, W): the patch
// convolution, every GEMM and attention, and the head. Sizes Hiera does
// not take count nothing.
func (m *Model) FLOPsFor(sizes ...[2]int) float64 {
	var f float64
	c := m.cfg
	for _, sz := range sizes {
		if _, ok := m.runSize(sz[0], sz[1]); !ok {
			continue
		}
		g := m.tokenGrid(sz[0], sz[1])
		n := float64(g.N())
		f += 2 * n * float64(c.InChans*c.PatchKernel[0]*c.PatchKernel[1]*c.EmbedDim)
		for _, b := range m.net.blocks {
			din, d := float64(b.dimIn), float64(b.dim)
			out := n / float64(b.qStride)
			keys := n
			if b.unit {
				keys = float64(b.qStride * b.window)
			}
			f += 2 * n * din * 3 * d // qkv
			if b.expand != nil {
				f += 2 * n * din * d
			}
			f += 4*out*keys*d + 2*out*d*d + 4*out*d*float64(b.mlp.Hidden())
			n = out
		}
		f += 2 * float64(m.net.blocks[len(m.net.blocks)-1].dim*c.NumClasses)
	}
	return f
}
