package main

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
)

// TestPosvizAbsWin draws Hiera's position at a size that is whole mask
// units, each token's own cell at similarity 1, and refuses one that is
// not.
func TestPosvizAbsWin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hiera.png")
	const name, stride = "hiera_abswin.safetensors", 4 // timm's Hiera patch_stride, as posviz assumes
	w := goldenPath(t, name)
	// sizes from the file's mask unit (pos_embed_win [1, C, uh, uw]): a
	// 2×4-unit grid, and one whose width is half a unit off
	ws, err := golden.Open(t, name).Shape("pos_embed_win")
	if err != nil || len(ws) != 4 {
		t.Fatalf("%s: pos_embed_win %v (%v), want [1, C, uh, uw]", name, ws, err)
	}
	uh, uw := ws[2], ws[3]
	gh, gw := 2*uh, 4*uw
	if err = runPosviz([]string{"-weights", w, "-size", fmt.Sprintf("%dx%d", stride*gh, stride*gw), "-out", out}); err != nil {
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
	// renderSimilarity's layout for a gh×gw grid
	cell := max(1, min(8, 1600/(gw*gw), 1600/(gh*gh)))
	gap := max(2, cell)
	top := 12 + 2*16 + 4
	for _, tok := range [][2]int{{0, 0}, {gh / 3, gw/2 + 1}, {gh - 1, gw - 1}} {
		r, c := tok[0], tok[1]
		x := 12 + c*(gw*cell+gap) + c*cell + cell/2
		y := top + r*(gh*cell+gap) + r*cell + cell/2
		if got := img.At(x, y); !sameRGB(got, viridis(1)) {
			t.Errorf("token %v: its own cell is %v, want the colour of similarity 1", tok, got)
		}
	}
	err = runPosviz([]string{"-weights", w, "-size", fmt.Sprintf("%dx%d", stride*gh, stride*(2*uw+max(1, uw/2))), "-out", out})
	if want := fmt.Sprintf("multiples of %d×%d", stride*uh, stride*uw); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a size that is not whole mask units: %v", err)
	}
}
