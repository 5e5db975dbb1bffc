package main

import (
	"fmt"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/posenc"
)

// posvizAbsWin draws Hiera's absolute windowed position (pos_embed, a
// [1, C, h, w] global table, resampled to the token grid, plus
// pos_embed_win, one mask unit's table, tiled): the position every token
// gets at that size, as posenc.AbsWin builds it for the model. The token
// grid is the image size over the patch stride (timm's Hiera: 4, a 7×7
// convolution padded by 3); it must be whole mask units.
func posvizAbsWin(ck *checkpoint, sizeFlag, method string, antialias bool, maxTiles int, out string) error {
	global, gs, err := ck.file.Float32("pos_embed")
	if err != nil {
		return err
	}
	win, ws, err := ck.file.Float32("pos_embed_win")
	if err != nil {
		return err
	}
	if len(gs) != 4 || gs[0] != 1 || len(ws) != 4 || ws[0] != 1 || ws[1] != gs[1] {
		return fmt.Errorf("%s: pos_embed %v and pos_embed_win %v, want [1, C, h, w] each", ck.path, gs, ws)
	}
	dim := gs[1]
	old, unit := posenc.Grid{H: gs[2], W: gs[3]}, posenc.Grid{H: ws[2], W: ws[3]}
	opt, err := resampleOptions(method, antialias)
	if err != nil {
		return err
	}
	a, err := posenc.NewAbsWin(nchwToRows(global, dim), old, nchwToRows(win, dim), unit, dim, opt)
	if err != nil {
		return err
	}
	// the global table's grid in whole mask units, unless a size is asked
	grid := posenc.Grid{H: (old.H + unit.H - 1) / unit.H * unit.H, W: (old.W + unit.W - 1) / unit.W * unit.W}
	if sizeFlag != "" {
		size, err := imageprep.ParseSize(sizeFlag)
		if err != nil {
			return err
		}
		const stride = 4 // timm's Hiera patch_stride
		if grid, err = gridForSize(size, [2]int{stride, stride}, nil); err != nil {
			return err
		}
	}
	table, err := a.Shared(grid)
	if err != nil {
		return fmt.Errorf("%w (Hiera takes images in multiples of %d×%d pixels)", err, 4*unit.H, 4*unit.W)
	}
	title := fmt.Sprintf("pos_embed %dx%d -> %dx%d (%v) + pos_embed_win %dx%d tiled: cosine similarity",
		old.H, old.W, grid.H, grid.W, opt.Method, unit.H, unit.W)
	img, err := renderSimilarity(table, grid, dim, maxTiles, title)
	if err != nil {
		return err
	}
	return writePNG(out, img)
}

// nchwToRows turns a [1, C, h, w] table into h·w rows of C.
func nchwToRows(t []float32, c int) []float32 {
	hw := len(t) / c
	r := make([]float32, len(t))
	for ch := 0; ch < c; ch++ {
		for i := 0; i < hw; i++ {
			r[i*c+ch] = t[ch*hw+i]
		}
	}
	return r
}
