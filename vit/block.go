package vit

import "github.com/anyres/anyres/kernels"

// rowsItem runs everything between two attentions for token rows [lo, hi):
// it folds block ws.block's attention output into the residual stream and
// runs that block's MLP, then normalises the rows and projects them to
// q, k, v for the next block (or applies the final norm after the last).
// Every step is row-local, so rows tiles need no synchronisation; the GEMMs
// carry bias, GELU and residual in their epilogues.
func (ws *workspace) rowsItem(worker, lo, hi int) {
	m := ws.m
	c := m.cfg
	d, eps := c.EmbedDim, float32(c.NormEps)
	n := hi - lo
	s := &ws.work[worker]
	x := ws.x[lo*d : hi*d]
	ln := s.ln[:n*d]
	if b := ws.block; b >= 0 {
		w := &m.w.blocks[b]
		// x += proj(attention) + bias: a residual that is the output itself
		// makes the GEMM accumulate onto it.
		kernels.GemmPacked(1, n, ws.ao[lo*d:hi*d], d, w.proj, x, d, kernels.Epilogue{Bias: w.projB, Residual: x, LDR: d})
		// x += fc2(GELU(fc1(norm2(x))))
		layerNormRows(ln, x, w.norm2W, w.norm2B, d, eps)
		hid := s.hid[:n*c.MLPHidden]
		kernels.GemmPacked(1, n, ln, d, w.fc1, hid, c.MLPHidden, kernels.Epilogue{Bias: w.fc1B, Act: kernels.ActGELU})
		kernels.GemmPacked(1, n, hid, c.MLPHidden, w.fc2, x, d, kernels.Epilogue{Bias: w.fc2B, Residual: x, LDR: d})
	} else if c.PreNorm {
		layerNormRows(ln, x, m.w.normPreW, m.w.normPB, d, eps)
		copy(x, ln)
	}
	if next := ws.block + 1; next < c.Depth {
		w := &m.w.blocks[next]
		layerNormRows(ln, x, w.norm1W, w.norm1B, d, eps)
		kernels.GemmPacked(1, n, ln, d, w.qkv, ws.qkv[lo*3*d:hi*3*d], 3*d, kernels.Epilogue{Bias: w.qkvB})
	} else if c.FinalNorm {
		layerNormRows(ln, x, m.w.normW, m.w.normB, d, eps)
		copy(x, ln)
	}
}

// layerNormRows normalises each d-wide row of src into dst.
func layerNormRows(dst, src, w, b []float32, d int, eps float32) {
	for i := 0; i+d <= len(src); i += d {
		kernels.LayerNorm(dst[i:i+d], src[i:i+d], w, b, eps)
	}
}

// embedItem embeds patches [it.lo, it.hi) of segment it.seg.
func (ws *workspace) embedItem(worker int, it item) {
	s := &ws.segs[it.seg]
	d := ws.m.cfg.EmbedDim
	first := s.off + ws.m.cfg.Prefix() + it.lo
	x := ws.x[first*d : (first+it.hi-it.lo)*d]
	ws.m.embedPatches(x, ws.work[worker].col, s.img, s.grid, it.lo, it.hi)
}
