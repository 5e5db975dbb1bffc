package swin

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
)

var biasPNG = flag.String("swin.biaspng", "", "write the Swin V2 golden's continuous position bias (stage 0, block 0, head 0) at 8×8 and 16×16 windows as PNGs into this folder")

// TestBiasTable: at the stage's own window BiasTable is the bias the model
// runs with; V2 gives it for any window, smoothly (a 16×16 window's table
// holds the 8×8 one's offsets at the same values when both normalise by
// the pretrained 8×8); v1 refuses other windows.
func TestBiasTable(t *testing.T) {
	_, m := loadGolden(t, goldenV2, options{})
	st := &m.net.stages[0]
	own, err := m.BiasTable(0, 0, 0, st.window)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(own, st.blocks[0].table[:st.rows]) {
		t.Error("BiasTable at the stage window is not the table the model runs with")
	}
	w := st.window
	big := [2]int{2 * w[0], 2 * w[1]}
	large, err := m.BiasTable(0, 0, 0, big)
	if err != nil {
		t.Fatal(err)
	}
	// Offset (dy, dx) of the small table is row dy+w-1, column dx+w-1;
	// of the large one row dy+2w-1.
	for dy := -(w[0] - 1); dy < w[0]; dy++ {
		for dx := -(w[1] - 1); dx < w[1]; dx++ {
			a := own[(dy+w[0]-1)*(2*w[1]-1)+dx+w[1]-1]
			b := large[(dy+big[0]-1)*(2*big[1]-1)+dx+big[1]-1]
			if math.Abs(float64(a-b)) > 1e-5 {
				t.Fatalf("offset (%d, %d): %g at %v, %g at %v", dy, dx, a, w, b, big)
			}
		}
	}
	for _, bad := range [][4]int{{5, 0, 0, 8}, {0, 9, 0, 8}, {0, 0, 99, 8}, {0, 0, 0, 0}, {0, 0, 0, 65}} {
		if _, err := m.BiasTable(bad[0], bad[1], bad[2], [2]int{bad[3], bad[3]}); err == nil {
			t.Errorf("BiasTable%v: no error", bad)
		}
	}
	_, v1 := loadGolden(t, goldenV1, options{})
	if _, err := v1.BiasTable(0, 0, 0, [2]int{9, 9}); err == nil {
		t.Error("v1 gave a bias for a window it has no table for")
	}
	if *biasPNG == "" {
		return
	}
	// One colour scale for both pictures: the range of the larger table
	// (it holds the smaller one's offsets).
	wins := [][2]int{{8, 8}, {16, 16}}
	tables := make([][]float32, len(wins))
	for i, win := range wins {
		if tables[i], err = m.BiasTable(0, 0, 0, win); err != nil {
			t.Fatal(err)
		}
	}
	lo, hi := slices.Min(tables[1]), slices.Max(tables[1])
	for i, win := range wins {
		path := filepath.Join(*biasPNG, fmt.Sprintf("swinv2_cpb_bias_%dx%d.png", win[0], win[1]))
		if err := writeBiasPNG(path, tables[i], 2*win[0]-1, 2*win[1]-1, lo, hi); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (colour scale %.4g to %.4g)", path, lo, hi)
	}
}

// writeBiasPNG draws a rows×cols bias table (offsets, the centre is 0, 0)
// as square cells, lo to hi from dark blue to yellow.
func writeBiasPNG(path string, table []float32, rows, cols int, lo, hi float32) error {
	const cell = 12
	img := image.NewRGBA(image.Rect(0, 0, cols*cell, rows*cell))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			col := ramp(float64((table[r*cols+c] - lo) / max(hi-lo, 1e-12)))
			for y := r * cell; y < (r+1)*cell; y++ {
				for x := c * cell; x < (c+1)*cell; x++ {
					img.SetRGBA(x, y, col)
				}
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
