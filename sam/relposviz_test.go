package sam

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/posenc"
)

var relPosPNG = flag.String("sam.relpospng", "", "write the SAM golden's global-block rel_pos_h table at its own size and resized for two larger grids as PNGs into this folder")

// TestRelPosResize: a global block's (else the first block's) per-axis
// table grows with the grid by linear interpolation, keeping its end rows
// (the largest offsets each way) and its values' range; -sam.relpospng
// draws it (rows = offsets, columns = head channels).
func TestRelPosResize(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	g := 0 // a windowed block's table where the file has no global block
	if len(cfg.Global) > 0 {
		g = cfg.Global[0]
	}
	table, shape := f.F32(t, fmt.Sprintf("blocks.%d.attn.rel_pos_h", g))
	rows, hd := shape[0], shape[1]
	sides := []int{(rows + 1) / 2, rows, 4 * rows}
	tables := make([][]float32, len(sides))
	for i, side := range sides {
		if tables[i], err = posenc.ResizeRelPos(table, rows, hd, 2*side-1); err != nil {
			t.Fatal(err)
		}
		r := 2*side - 1
		if !sameRow(tables[i][:hd], table[:hd]) || !sameRow(tables[i][(r-1)*hd:], table[(rows-1)*hd:]) {
			t.Errorf("grid side %d: the end rows moved", side)
		}
		if slices.Min(tables[i]) < slices.Min(table) || slices.Max(tables[i]) > slices.Max(table) {
			t.Errorf("grid side %d: linear interpolation left the table's range", side)
		}
	}
	if !slices.Equal(tables[0], table) {
		t.Error("at its own size the table changed")
	}
	if *relPosPNG == "" {
		return
	}
	lo, hi := slices.Min(table), slices.Max(table)
	for i, side := range sides {
		path := filepath.Join(*relPosPNG, fmt.Sprintf("samvit_rel_pos_h_%drows.png", 2*side-1))
		if err := writeTablePNG(path, tables[i], 2*side-1, hd, lo, hi); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}

// sameRow: a resized end row is its table row up to the rounding of
// ATen's linear taps there ((1-λ)·x + λ·x, both taps on the clamped end
// row: two float32 roundings, whose bits depend on the values and on FMA).
func sameRow(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if math.Abs(float64(got[i])-float64(w)) > 0x1p-22*math.Abs(float64(w)) {
			return false
		}
	}
	return true
}

// writeTablePNG draws a rows×cols table as cells 8 pixels wide and
// height/rows high (one picture height for every size), lo to hi from dark
// blue to yellow.
func writeTablePNG(path string, table []float32, rows, cols int, lo, hi float32) error {
	const cell, height = 8, 192
	img := image.NewRGBA(image.Rect(0, 0, cols*cell, height))
	for y := 0; y < height; y++ {
		r := y * rows / height
		for c := 0; c < cols; c++ {
			col := ramp(float64((table[r*cols+c] - lo) / max(hi-lo, 1e-12)))
			for x := c * cell; x < (c+1)*cell; x++ {
				img.SetRGBA(x, y, col)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ramp maps [0, 1] to a blue–green–yellow scale.
func ramp(t float64) color.RGBA {
	t = min(max(t, 0), 1)
	return color.RGBA{R: uint8(255 * t * t), G: uint8(255 * math.Sqrt(t) * 0.9), B: uint8(255 * (1 - t) * 0.6), A: 255}
}
