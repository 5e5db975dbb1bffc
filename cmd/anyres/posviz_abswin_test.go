package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPosvizAbsWin draws Hiera's position at a size that is whole mask
// units, each token's own cell at similarity 1, and refuses one that is
// not.
func TestPosvizAbsWin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hiera.png")
	w := goldenPath(t, "hiera_abswin.safetensors")
	if err := runPosviz([]string{"-weights", w, "-size", "64x128", "-out", out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// renderSimilarity's layout for a 16×32 grid (64×128 pixels at stride 4)
	gh, gw := 16, 32
	cell := max(1, min(8, 1600/(gw*gw), 1600/(gh*gh)))
	gap := max(2, cell)
	top := 12 + 2*16 + 4
	for _, tok := range [][2]int{{0, 0}, {5, 17}, {15, 31}} {
		r, c := tok[0], tok[1]
		x := 12 + c*(gw*cell+gap) + c*cell + cell/2
		y := top + r*(gh*cell+gap) + r*cell + cell/2
		if got := img.At(x, y); !sameRGB(got, viridis(1)) {
			t.Errorf("token %v: its own cell is %v, want the colour of similarity 1", tok, got)
		}
	}
	err = runPosviz([]string{"-weights", w, "-size", "64x80", "-out", out})
	if err == nil || !strings.Contains(err.Error(), "multiples of 32×32") {
		t.Errorf("a size that is not whole mask units: %v", err)
	}
}
