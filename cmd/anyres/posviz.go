package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/posenc"
)

func init() {
	commands["posviz"] = command{"draw a checkpoint's position-embedding similarity at any size as a PNG", runPosviz}
}

const posvizHelp = `usage: anyres posviz -weights ckpt.safetensors|hubfolder -out sim.png [-size HxW] [-method bicubic]

Draws the cosine similarity between the learned position embeddings of a
ViT checkpoint, resampled to the grid of an HxW image, as the ViT paper's
figure 7 does: one small tile per token, laid out on the grid, each showing
that token's similarity to every token (yellow = 1, purple = -1). A good
resampling keeps each tile a smooth blob centred on its own position; use it
to compare methods (-method) before running a model at a new size.

flags:
`

func runPosviz(args []string) error {
	fs := flag.NewFlagSet("posviz", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), posvizHelp); fs.PrintDefaults() }
	weights := fs.String("weights", "", "checkpoint (.safetensors, timm names, or a hub folder) with a learned pos_embed")
	configPath := fs.String("config", "", "JSON config to use instead of the file's `config` metadata")
	sizeFlag := fs.String("size", "", "image size `HxW` to resample the table to (default: the training size)")
	method := fs.String("method", "bicubic", "resampling: bicubic, bilinear, nearest or fourier")
	antialias := fs.Bool("antialias", true, "antialias when shrinking (timm's default)")
	out := fs.String("out", "", "PNG file to write (required: nothing is written into the working folder unasked)")
	maxTiles := fs.Int("tiles", 32, "at most this many tiles per side: larger grids show every k-th token's tile")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *weights == "" || *out == "" {
		return errors.New("-weights and -out are required")
	}
	if *maxTiles < 1 {
		return fmt.Errorf("-tiles %d must be positive", *maxTiles)
	}
	inFile, inConfig, folder, err := hubIn(*weights, *configPath)
	if err != nil {
		return err
	}
	if err := tensorout.CheckNotInput(*out, inFile, inConfig); err != nil {
		return err
	}
	if err := tensorout.CheckWritable(*out); err != nil {
		return err
	}
	// A hub folder's config.json is read after the Hiera check: it is
	// timm's config for any family, and Hiera's tables need none.
	cfg := inConfig
	if folder && *configPath == "" {
		cfg = ""
	}
	ck, err := openCheckpoint(inFile, cfg)
	if err != nil {
		return err
	}
	if ck.file.Has("pos_embed_win") {
		return posvizAbsWin(ck, *sizeFlag, *method, *antialias, *maxTiles, *out)
	}
	if cfg != inConfig && ck.file.Has("pos_embed") {
		if err := ck.useConfig(inConfig); err != nil {
			return err
		}
	}
	l, err := ck.layout()
	if err != nil {
		return err
	}
	table, _, err := ck.file.Float32("pos_embed")
	if err != nil {
		return err
	}
	grid := l.grid
	if *sizeFlag != "" {
		size, err := imageprep.ParseSize(*sizeFlag)
		if err != nil {
			return err
		}
		if grid, err = gridForSize(size, l.patch, ck.config); err != nil {
			return err
		}
	}
	opt, err := resampleOptions(*method, *antialias)
	if err != nil {
		return err
	}
	patchRows := table[l.prefix*l.dim:]
	title := fmt.Sprintf("pos_embed cosine similarity: %dx%d grid", grid.H, grid.W)
	if grid == l.grid && (flagSet(fs, "method") || flagSet(fs, "antialias")) {
		return fmt.Errorf("-method and -antialias do nothing at the table's own %v grid (give -size to resample)", l.grid)
	}
	if grid != l.grid {
		if patchRows, err = posenc.ResampleAbsPosEmbed(patchRows, 0, l.grid, grid, l.dim, opt); err != nil {
			return err
		}
		aa := ""
		if opt.Antialias {
			aa = ", antialias"
		}
		title = fmt.Sprintf("pos_embed cosine similarity: %dx%d -> %dx%d, %v%s", l.grid.H, l.grid.W, grid.H, grid.W, opt.Method, aa)
	}
	img, err := renderSimilarity(patchRows, grid, l.dim, *maxTiles, title)
	if err != nil {
		return err
	}
	return writePNG(*out, img)
}

// writePNG writes img to path (through a temporary file beside it, renamed
// into place) and says so on stderr.
func writePNG(path string, img *image.RGBA) error {
	// Fast compression: flat colour runs compress well anyway, and the best
	// level takes seconds on a large grid.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := tensorout.WriteFile(path, func(w io.Writer) error { return enc.Encode(w, img) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%dx%d: %[2]d pixels high, %[3]d wide)\n", path, img.Bounds().Dy(), img.Bounds().Dx())
	return nil
}

// gridForSize is the patch grid of an image of that size: whole patches,
// rounded up when the model pads images (dynamic_img_pad), else down.
func gridForSize(size imageprep.Size, patch [2]int, config map[string]any) (posenc.Grid, error) {
	if patch[0] <= 0 || patch[1] <= 0 {
		return posenc.Grid{}, errors.New("cannot tell the patch size (no patch_embed.proj.weight and no patch_size in the config)")
	}
	if size.H < patch[0] || size.W < patch[1] {
		return posenc.Grid{}, fmt.Errorf("size %v is smaller than one %dx%d patch", size, patch[0], patch[1])
	}
	g := posenc.Grid{H: size.H / patch[0], W: size.W / patch[1]}
	if pad, _ := config["dynamic_img_pad"].(bool); pad {
		g = posenc.Grid{H: (size.H + patch[0] - 1) / patch[0], W: (size.W + patch[1] - 1) / patch[1]}
	}
	if g.N() > 1<<16 {
		return g, fmt.Errorf("size %v gives a %v grid: over 65536 tokens", size, g)
	}
	return g, nil
}

// maxCanvasPixels bounds the picture posviz draws (512 MB of RGBA): the
// default 32 tiles per side stay far below it at any grid, a large -tiles
// on a large grid does not.
const maxCanvasPixels = 1 << 27

// renderSimilarity draws, for each (every k-th) token of the grid, a tile
// of its cosine similarity to every token, tiles laid out on the grid.
// table holds g.N() rows of dim values. The picture's size is checked
// before anything is allocated.
func renderSimilarity(table []float32, g posenc.Grid, dim, maxTiles int, title string) (*image.RGBA, error) {
	step := (max(g.H, g.W) + maxTiles - 1) / maxTiles // show every step-th token's tile
	th, tw := (g.H+step-1)/step, (g.W+step-1)/step
	// Pixels per grid cell: tiles big enough to read, the tiles together
	// within about 1600×1600 pixels.
	cell := max(1, min(8, 1600/(tw*g.W), 1600/(th*g.H)))
	gap := max(2, cell)
	tileW, tileH := g.W*cell, g.H*cell
	const margin, line, barW = 12, 16, 14
	gridW, gridH := tw*(tileW+gap)-gap, th*(tileH+gap)-gap
	top := margin + 2*line + 4
	width, height := max(margin+gridW+margin+barW+4+4*7+margin, margin+len(title)*7+margin), top+max(gridH, 60)+margin
	if int64(width)*int64(height) > maxCanvasPixels {
		return nil, fmt.Errorf("a %v grid with %dx%d tiles makes a %dx%d-pixel picture, over the %d-pixel limit: lower -tiles or -size",
			g, th, tw, width, height, maxCanvasPixels)
	}
	unit := normalizedRows(table, g.N(), dim)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)

	label(img, margin, margin+11, title)
	sub := "tile (r,c): similarity of token (r,c) to every token"
	if step > 1 {
		sub = fmt.Sprintf("tiles of every %dth token; each shows its similarity to all %d", step, g.N())
	}
	label(img, margin, margin+line+11, sub)

	sims := make([]float32, g.N())
	for ty := range th {
		for tx := range tw {
			tok := (ty*step)*g.W + tx*step
			similarities(sims, unit, tok, dim)
			x0, y0 := margin+tx*(tileW+gap), top+ty*(tileH+gap)
			for i, s := range sims {
				fill(img, x0+(i%g.W)*cell, y0+(i/g.W)*cell, cell, cell, viridis(float64(s+1)/2))
			}
		}
	}

	// Colour bar from -1 (bottom) to 1 (top), with its three labels.
	bx, bh := margin+gridW+margin, max(gridH, 60)
	for y := range bh {
		fill(img, bx, top+y, barW, 1, viridis(1-float64(y)/float64(bh-1)))
	}
	label(img, bx+barW+4, top+10, "1")
	label(img, bx+barW+4, top+bh/2+4, "0")
	label(img, bx+barW+4, top+bh, "-1")
	return img, nil
}

// fill paints the w×h rectangle at (x, y) of img with c (a hot path: a
// grid of 24×24 tiles is 330 000 cells).
func fill(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	for yy := y; yy < y+h; yy++ {
		row := img.Pix[img.PixOffset(x, yy):]
		for xx := range w {
			row[4*xx], row[4*xx+1], row[4*xx+2], row[4*xx+3] = c.R, c.G, c.B, c.A
		}
	}
}

// normalizedRows returns the n rows of table scaled to unit length (zero
// rows stay zero).
func normalizedRows(table []float32, n, dim int) []float64 {
	unit := make([]float64, n*dim)
	for i := range n {
		row := table[i*dim : (i+1)*dim]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		inv := 0.0
		if ss > 0 {
			inv = 1 / math.Sqrt(ss)
		}
		for j, v := range row {
			unit[i*dim+j] = float64(v) * inv
		}
	}
	return unit
}

// similarities sets dst[i] to the cosine similarity of rows tok and i.
func similarities(dst []float32, unit []float64, tok, dim int) {
	a := unit[tok*dim : (tok+1)*dim]
	for i := range dst {
		b := unit[i*dim : (i+1)*dim]
		var s float64
		for j := range a {
			s += a[j] * b[j]
		}
		dst[i] = float32(s)
	}
}

// label writes ASCII text with its baseline at y.
func label(img draw.Image, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// viridisAnchors samples matplotlib's viridis at 0, 0.1, …, 1.
var viridisAnchors = [11][3]float64{
	{68, 1, 84}, {72, 36, 117}, {65, 68, 135}, {53, 95, 141}, {42, 120, 142}, {33, 145, 140},
	{34, 168, 132}, {68, 191, 112}, {122, 209, 81}, {189, 223, 38}, {253, 231, 37},
}

// viridis maps t in [0, 1] (clamped; NaN is 0) to the viridis colour map,
// perceptually uniform and readable in grey and by colour-blind readers.
func viridis(t float64) color.RGBA {
	if !(t > 0) {
		t = 0
	}
	t = min(t, 1) * 10
	i := min(int(t), 9)
	f := t - float64(i)
	a, b := viridisAnchors[i], viridisAnchors[i+1]
	mix := func(k int) uint8 { return uint8(math.Round(a[k] + f*(b[k]-a[k]))) }
	return color.RGBA{R: mix(0), G: mix(1), B: mix(2), A: 255}
}
