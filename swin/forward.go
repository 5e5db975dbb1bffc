package swin

import (
	"math"
	"sync"

	"github.com/anyres/anyres/kernels"
)

// maskValue is what timm adds to the scores of a query and key that come
// from different regions of a shifted window.
const maskValue = -100

// workspace holds one forward pass's buffers; a Model keeps a pool of them.
type workspace struct {
	m           *Model
	x, ln, tmp  []float32 // token rows: residual stream, normalised, scratch
	win, qkv    []float32 // window-partitioned tokens and their q, k, v
	ao, hid     []float32 // attention output, MLP hidden
	scratch     [][]float32
	h, w        int // the current grid
	dim, heads  int
	window      [2]int
	threads     kernels.Threads
	stageHidden int
}

// forward runs the network on a checked image.
func (ws *workspace) forward(img Image, out *Output) {
	m := ws.m
	c := m.cfg
	ws.threads = kernels.Threads(m.threads)
	ws.embed(img)
	for si := range m.w.stages {
		s := &m.w.stages[si]
		if si > 0 {
			ws.merge(s)
		}
		ws.dim, ws.heads, ws.stageHidden, ws.window = s.dim, s.heads, s.hidden, s.window
		for bi := range s.blocks {
			ws.block(&s.blocks[bi])
		}
	}
	d, n := ws.dim, ws.h*ws.w
	eps := float32(c.NormEps)
	out.FeatH, out.FeatW = ws.h, ws.w
	out.Features = grow(out.Features, n*d)
	kernels.LayerNormRows(out.Features, ws.x[:n*d], d, m.w.normW, m.w.normB, eps)
	if c.GlobalPool == "" {
		out.Pooled, out.Logits = out.Pooled[:0], out.Logits[:0]
		return
	}
	out.Pooled = grow(out.Pooled, d)
	for j := 0; j < d; j++ {
		var sum float64
		for r := 0; r < n; r++ {
			sum += float64(out.Features[r*d+j])
		}
		out.Pooled[j] = float32(sum / float64(n))
	}
	if m.w.head == nil {
		out.Logits = out.Logits[:0]
		return
	}
	out.Logits = grow(out.Logits, c.NumClasses)
	kernels.GemmPacked(1, 1, out.Pooled, d, m.w.head, out.Logits, c.NumClasses, kernels.Epilogue{Bias: m.w.headB})
}

// embed is timm's PatchEmbed: a stride-p convolution (as a GEMM over
// unfolded patches) and a LayerNorm, leaving the patch grid in ws.x.
func (ws *workspace) embed(img Image) {
	c := ws.m.cfg
	p := c.PatchSize
	gh, gw := img.H/p[0], img.W/p[1]
	k := c.InChans * p[0] * p[1]
	d := c.EmbedDim
	n := gh * gw
	col := grow(ws.tmp, n*k)
	ws.tmp = col
	plane := img.H * img.W
	for py := 0; py < gh; py++ {
		for px := 0; px < gw; px++ {
			row := col[(py*gw+px)*k:]
			i := 0
			for ch := 0; ch < c.InChans; ch++ {
				for ky := 0; ky < p[0]; ky++ {
					src := img.Pix[ch*plane+(py*p[0]+ky)*img.W+px*p[1]:]
					i += copy(row[i:i+p[1]], src[:p[1]])
				}
			}
		}
	}
	ws.ln = grow(ws.ln, n*d)
	kernels.GemmPacked(ws.threads, n, col, k, ws.m.w.patch, ws.ln, d, kernels.Epilogue{Bias: ws.m.w.patchB})
	ws.x = grow(ws.x, n*d)
	kernels.LayerNormRows(ws.x, ws.ln, d, ws.m.w.patchNormW, ws.m.w.patchNormB, float32(c.NormEps))
	ws.h, ws.w, ws.dim = gh, gw, d
}

// merge is timm's PatchMerging: pad the grid to even sides with zeros,
// concatenate each 2×2 neighbourhood in timm's order (top-left,
// bottom-left, top-right, bottom-right), LayerNorm, and reduce linearly.
func (ws *workspace) merge(s *stageWeights) {
	d := ws.dim
	h2, w2 := (ws.h+1)/2, (ws.w+1)/2
	n := h2 * w2
	cat := grow(ws.tmp, n*4*d)
	ws.tmp = cat
	for y := 0; y < h2; y++ {
		for x := 0; x < w2; x++ {
			dst := cat[(y*w2+x)*4*d:]
			for q, off := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				part := dst[q*d : (q+1)*d]
				sy, sx := 2*y+off[0], 2*x+off[1]
				if sy < ws.h && sx < ws.w {
					copy(part, ws.x[(sy*ws.w+sx)*d:])
				} else {
					clear(part)
				}
			}
		}
	}
	ws.ln = grow(ws.ln, n*4*d)
	kernels.LayerNormRows(ws.ln, cat, 4*d, s.mergeNormW, s.mergeNormB, float32(ws.m.cfg.NormEps))
	ws.x = grow(ws.x, n*s.dim)
	kernels.GemmPacked(ws.threads, n, ws.ln, 4*d, s.reduction, ws.x, s.dim, kernels.Epilogue{})
	ws.h, ws.w, ws.dim = h2, w2, s.dim
}

// block is one SwinTransformerBlock: x += attention(norm1(x)) over
// (shifted) windows, then x += MLP(norm2(x)).
func (ws *workspace) block(b *blockWeights) {
	d, n := ws.dim, ws.h*ws.w
	eps := float32(ws.m.cfg.NormEps)
	x := ws.x[:n*d]
	ws.ln = grow(ws.ln, n*d)
	kernels.LayerNormRows(ws.ln, x, d, b.norm1W, b.norm1B, eps)
	ws.attention(b)
	kernels.LayerNormRows(ws.ln[:n*d], x, d, b.norm2W, b.norm2B, eps)
	hidden := ws.stageHidden
	ws.hid = grow(ws.hid, n*hidden)
	kernels.GemmPacked(ws.threads, n, ws.ln, d, b.fc1, ws.hid, hidden, kernels.Epilogue{Bias: b.fc1B, Act: kernels.ActGELU})
	kernels.GemmPacked(ws.threads, n, ws.hid, hidden, b.fc2, x, d, kernels.Epilogue{Bias: b.fc2B, Residual: x, LDR: d})
}

// windowGeometry describes how the grid is cut into windows: timm rolls
// the normalised grid by -shift, pads it at the bottom and right with
// zeros to whole windows (hp×wp), and partitions it.
type windowGeometry struct {
	h, w, hp, wp int
	win, shift   [2]int
	nwx, count   int // windows per row, windows in all
}

// source returns the grid position (row-major) of window token t of
// window wi, or -1 for a padding token.
func (g *windowGeometry) source(wi, t int) int {
	y := wi/g.nwx*g.win[0] + t/g.win[1]
	x := wi%g.nwx*g.win[1] + t%g.win[1]
	if y >= g.h || x >= g.w {
		return -1
	}
	return (y+g.shift[0])%g.h*g.w + (x+g.shift[1])%g.w
}

// region is the label timm's mask gives window token t of window wi: the
// padded, shifted grid is cut into 3×3 regions at hp-win and hp-shift
// (rows) and wp-win and wp-shift (columns); tokens of different regions
// came from far apart before the roll and must not attend to each other.
func (g *windowGeometry) region(wi, t int) int {
	y := wi/g.nwx*g.win[0] + t/g.win[1]
	x := wi%g.nwx*g.win[1] + t%g.win[1]
	band := func(v, size, win, shift int) int {
		switch {
		case v < size-win:
			return 0
		case v < size-shift:
			return 1
		}
		return 2
	}
	return band(y, g.hp, g.win[0], g.shift[0])*3 + band(x, g.wp, g.win[1], g.shift[1])
}

// attention adds the block's window attention of ws.ln to ws.x.
func (ws *workspace) attention(b *blockWeights) {
	d, heads := ws.dim, ws.heads
	g := windowGeometry{h: ws.h, w: ws.w, win: ws.window, shift: b.shift}
	g.hp = (g.h + g.win[0] - 1) / g.win[0] * g.win[0]
	g.wp = (g.w + g.win[1] - 1) / g.win[1] * g.win[1]
	g.nwx = g.wp / g.win[1]
	g.count = g.hp / g.win[0] * g.nwx
	nt := g.win[0] * g.win[1]
	rows := g.count * nt

	// Partition: padding tokens are zero vectors, as timm's F.pad makes them.
	ws.win = grow(ws.win, rows*d)
	for wi := 0; wi < g.count; wi++ {
		for t := 0; t < nt; t++ {
			dst := ws.win[(wi*nt+t)*d : (wi*nt+t+1)*d]
			if src := g.source(wi, t); src >= 0 {
				copy(dst, ws.ln[src*d:])
			} else {
				clear(dst)
			}
		}
	}
	ws.qkv = grow(ws.qkv, rows*3*d)
	kernels.GemmPacked(ws.threads, rows, ws.win, d, b.qkv, ws.qkv, 3*d, kernels.Epilogue{Bias: b.qkvB})

	// Per window and head: softmax(scale·q·kᵀ + bias + mask)·v.
	ws.ao = grow(ws.ao, rows*d)
	hd := d / heads
	scale := float32(1 / math.Sqrt(float64(hd)))
	shifted := b.shift != [2]int{}
	workers := min(int(ws.threads), g.count)
	for len(ws.scratch) < workers {
		ws.scratch = append(ws.scratch, nil)
	}
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		buf := grow(ws.scratch[wk], 2*nt*nt+nt)
		ws.scratch[wk] = buf
		scores, bias := buf[:nt*nt], buf[nt*nt:2*nt*nt]
		labels := buf[2*nt*nt:]
		lo, hi := g.count*wk/workers, g.count*(wk+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wi := lo; wi < hi; wi++ {
				masked := false
				if shifted {
					for t := range labels {
						labels[t] = float32(g.region(wi, t))
						masked = masked || labels[t] != labels[0]
					}
				}
				base := wi * nt
				for h := 0; h < heads; h++ {
					rel := b.relBias[h*nt*nt : (h+1)*nt*nt]
					if masked {
						for i := 0; i < nt; i++ {
							for j := 0; j < nt; j++ {
								v := rel[i*nt+j]
								if labels[i] != labels[j] {
									v += maskValue
								}
								bias[i*nt+j] = v
							}
						}
						rel = bias
					}
					col := h * hd
					q := ws.qkv[base*3*d+col:]
					k := ws.qkv[base*3*d+d+col:]
					v := ws.qkv[base*3*d+2*d+col:]
					kernels.Sgemm(1, false, true, nt, nt, hd, 1, q, 3*d, k, 3*d, 0, scores, nt)
					kernels.SoftmaxRows(scores, scores, nt, scale, rel)
					kernels.Sgemm(1, false, false, nt, hd, nt, 1, scores, nt, v, 3*d, 0, ws.ao[base*d+col:], d)
				}
			}
		}()
	}
	wg.Wait()

	// Project, then fold the windows back (undoing the roll, dropping the
	// padding) onto the residual stream.
	kernels.GemmPacked(ws.threads, rows, ws.ao, d, b.proj, ws.win, d, kernels.Epilogue{Bias: b.projB})
	for wi := 0; wi < g.count; wi++ {
		for t := 0; t < nt; t++ {
			if dst := g.source(wi, t); dst >= 0 {
				kernels.Add(ws.x[dst*d:(dst+1)*d], ws.x[dst*d:(dst+1)*d], ws.win[(wi*nt+t)*d:(wi*nt+t+1)*d])
			}
		}
	}
}
