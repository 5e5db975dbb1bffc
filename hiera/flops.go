package hiera

// FLOPs counts the floating-point operations (2 per multiply-add) of a
// forward pass over an H×W image: the patch convolution, every GEMM and
// attention, and the head. A size Hiera does not take counts nothing.
func (m *Model) FLOPs(h, w int) float64 {
	var f float64
	c := m.cfg
	if _, ok := m.runSize(h, w); !ok {
		return 0
	}
	g := m.tokenGrid(h, w)
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
	return f
}
