package naflex

import (
	"fmt"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Patches is a padded batch of pre-patchified images as timm's NaFlex
// collator hands it to NaFlexVit.forward: Batch images of Rows rows each,
// every image's patches first (row-major over its own grid), padding after.
type Patches struct {
	Batch, Rows int
	// Data holds Batch×Rows patches of ph·pw·C values each, channels last
	// within a patch (timm's patchify: value (ky·pw + kx)·C + c), or
	// channels first (value (c·ph + ky)·pw + kx) for a model configured
	// with patchify_channels_last false.
	Data []float32
	// Coord holds Batch×Rows (y, x) patch coordinates (patch_coord).
	Coord []int64
	// Valid marks the rows that hold a patch (patch_valid).
	Valid []bool
}

// maxBatchRows bounds Batch×Rows before anything is sized from it.
const maxBatchRows = 1 << 24

// patchScratch is one caller's buffers for ForwardPatches.
type patchScratch struct {
	imgs []nn.Image
	pix  []float32
}

// ForwardPatches runs a padded NaFlex batch. outs[i] gets image i's
// results as Forward of that image would give them: Tokens holds the rows
// of its valid patches (after its prefix tokens) in their input order,
// Pooled and Logits its head. The padding rows are never computed: the
// images' valid rows are packed into one block-diagonal sequence, so the
// work is that of the tokens the images have, not of Batch×Rows.
//
// Each image's valid rows must come first and hold every patch of an
// H×W grid once, in row-major order (patch k at (k / W, k % W)), where H
// and W are one more than the largest y and x — what timm's patchify and
// collator make, and what NaFlexEmbeds assumes when it adds the table by
// row index.
func (m *Model) ForwardPatches(p Patches, outs []nn.Output) error {
	if p.Batch <= 0 || p.Rows <= 0 || int64(p.Batch)*int64(p.Rows) > maxBatchRows {
		return fmt.Errorf("%w: a batch of %d×%d patch rows (want 1..%d rows in all)", ErrImage, p.Batch, p.Rows, maxBatchRows)
	}
	if len(outs) != p.Batch {
		return fmt.Errorf("%d images but %d outputs", p.Batch, len(outs))
	}
	C, ph, pw := m.cfg.InChans, m.cfg.PatchSize[0], m.cfg.PatchSize[1]
	k := ph * pw * C
	n := p.Batch * p.Rows
	if len(p.Data) != n*k || len(p.Coord) != 2*n || len(p.Valid) != n {
		return fmt.Errorf("%w: %d×%d rows need %d patch values (%d per patch), %d coordinates and %d flags; have %d, %d, %d",
			ErrImage, p.Batch, p.Rows, n*k, k, 2*n, n, len(p.Data), len(p.Coord), len(p.Valid))
	}
	s := m.scratch.Get()
	if s == nil {
		s = new(patchScratch)
	}
	defer m.scratch.Put(s)
	s.imgs = s.imgs[:0]
	total := 0
	// First pass: check every image and size the pixel buffer.
	for b := 0; b < p.Batch; b++ {
		g, err := imageGrid(p, b, m.MaxTokens())
		if err != nil {
			return err
		}
		total += g.N() * k
		s.imgs = append(s.imgs, nn.Image{C: C, H: g.H * ph, W: g.W * pw})
	}
	if cap(s.pix) < total {
		s.pix = make([]float32, total)
	}
	pix := s.pix[:total]
	for b := range s.imgs {
		img := &s.imgs[b]
		gh, gw := img.H/ph, img.W/pw
		img.Pix, pix = pix[:gh*gw*k], pix[gh*gw*k:]
		unpatchify(img, p.Data[b*p.Rows*k:], gh, gw, ph, pw, m.cfg.ChannelsFirst)
	}
	return m.ForwardBatch(s.imgs, outs)
}

// imageGrid checks image b's rows and returns its patch grid.
func imageGrid(p Patches, b, maxTokens int) (g posenc.Grid, _ error) {
	valid := p.Valid[b*p.Rows : (b+1)*p.Rows]
	coord := p.Coord[2*b*p.Rows : 2*(b+1)*p.Rows]
	n := 0
	for n < len(valid) && valid[n] {
		n++
	}
	for r := n; r < len(valid); r++ {
		if valid[r] {
			return g, fmt.Errorf("%w: image %d: row %d is valid after padding row %d; each image's patches must come first", ErrImage, b, r, n)
		}
	}
	if n == 0 {
		return g, fmt.Errorf("%w: image %d has no valid patch", ErrImage, b)
	}
	if n > maxTokens {
		return g, fmt.Errorf("%w: image %d has %d patches, over the cap of %d", ErrTooManyTokens, b, n, maxTokens)
	}
	var h, w int64
	for r := 0; r < n; r++ {
		y, x := coord[2*r], coord[2*r+1]
		if y < 0 || x < 0 || y >= int64(n) || x >= int64(n) {
			return g, fmt.Errorf("%w: image %d: patch %d at (%d, %d) is outside a grid of %d patches", ErrImage, b, r, y, x, n)
		}
		h, w = max(h, y+1), max(w, x+1)
	}
	if h*w != int64(n) {
		return g, fmt.Errorf("%w: image %d: %d patches do not fill its %d×%d grid", ErrImage, b, n, h, w)
	}
	for r := 0; r < n; r++ {
		if coord[2*r] != int64(r)/w || coord[2*r+1] != int64(r)%w {
			return g, fmt.Errorf("%w: image %d: patch %d is at (%d, %d), want (%d, %d): patches must be in row-major order",
				ErrImage, b, r, coord[2*r], coord[2*r+1], int64(r)/w, int64(r)%w)
		}
	}
	g.H, g.W = int(h), int(w)
	return g, nil
}

// unpatchify writes gh×gw patches, channels last (timm's patchify layout)
// or channels first, into img, a C×(gh·ph)×(gw·pw) image.
func unpatchify(img *nn.Image, patches []float32, gh, gw, ph, pw int, channelsFirst bool) {
	C, W := img.C, img.W
	plane := img.H * W
	k := ph * pw * C
	for py := 0; py < gh; py++ {
		for px := 0; px < gw; px++ {
			patch := patches[(py*gw+px)*k : (py*gw+px+1)*k]
			for ky := 0; ky < ph; ky++ {
				at := (py*ph+ky)*W + px*pw
				if channelsFirst {
					for c := 0; c < C; c++ {
						copy(img.Pix[c*plane+at:c*plane+at+pw], patch[(c*ph+ky)*pw:(c*ph+ky+1)*pw])
					}
					continue
				}
				for kx := 0; kx < pw; kx++ {
					for c, x := range patch[(ky*pw+kx)*C : (ky*pw+kx+1)*C] {
						img.Pix[c*plane+at+kx] = x
					}
				}
			}
		}
	}
}
