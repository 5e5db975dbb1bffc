package main

import (
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorout"
)

func goldenPath(t testing.TB, name string) string { return filepath.Join(golden.Dir(t), name) }

// patchOf is the patch size of a golden ViT's own config.
func patchOf(t *testing.T, name string) [2]int {
	t.Helper()
	var c struct {
		Patch [2]int `json:"patch_size"`
	}
	golden.Open(t, name).MetaJSON(t, "config", &c)
	return c.Patch
}

// gridSize is the -size that gives the golden ViT a g×g patch grid (the
// training grid is the file's).
func gridSize(t *testing.T, name string, g int) string {
	t.Helper()
	p := patchOf(t, name)
	return fmt.Sprintf("%dx%d", g*p[0], g*p[1])
}

func TestPosvizDrawsEachTokenMostSimilarToItself(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sim.png")
	// The table resampled to a 14×14 grid, whatever the file's own.
	const g = 14
	if err := runPosviz([]string{"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-size", gridSize(t, "vit_cls_learned.safetensors", g), "-out", out}); err != nil {
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
	// The layout renderSimilarity uses for a 14×14 grid: 14 tiles of
	// 14 cells of `cell` pixels, a gap of max(2, cell) between tiles.
	cell := max(1, min(8, 1600/(g*g), 1600/(g*g)))
	gap := max(2, cell)
	top := 12 + 2*16 + 4
	for _, tok := range [][2]int{{0, 0}, {3, 11}, {13, 13}, {7, 2}} {
		r, c := tok[0], tok[1]
		x := 12 + c*(g*cell+gap) + c*cell + cell/2
		y := top + r*(g*cell+gap) + r*cell + cell/2
		if got := img.At(x, y); !sameRGB(got, viridis(1)) {
			t.Errorf("token %v: its own cell is %v, want the colour of similarity 1 %v", tok, got, viridis(1))
		}
	}
}

func TestPosvizErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("not a checkpoint at all"), 0o644)
	p := patchOf(t, "vit_cls_learned.safetensors")
	half := [2]int{p[0] / 2, p[1] / 2} // less than one patch
	for name, args := range map[string][]string{
		"no weights":      {"-out", filepath.Join(dir, "a.png")},
		"unknown flag":    {"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-colour", "red"},
		"no pos_embed":    {"-weights", goldenPath(t, "vit_nope.safetensors"), "-out", filepath.Join(dir, "b.png")},
		"malformed file":  {"-weights", bad},
		"missing file":    {"-weights", filepath.Join(dir, "missing.safetensors")},
		"bad size":        {"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-size", "0x9"},
		"tiny size":       {"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-size", fmt.Sprintf("%dx%d", half[0], half[1]), "-out", filepath.Join(dir, "c.png")},
		"extra argument":  {"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "extra"},
		"zero tiles":      {"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-tiles", "0"},
		"unwritable path": {"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-out", filepath.Join(dir, "no", "such", "x.png")},
	} {
		if err := runPosviz(args); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestViridisEnds(t *testing.T) {
	if c := viridis(0); c.R != 68 || c.G != 1 || c.B != 84 {
		t.Errorf("viridis(0) = %v", c)
	}
	if c := viridis(1); c.R != 253 || c.G != 231 || c.B != 37 {
		t.Errorf("viridis(1) = %v", c)
	}
	if viridis(-3) != viridis(0) || viridis(7) != viridis(1) {
		t.Error("viridis does not clamp")
	}
}

// sameRGB reports whether two colours have the same 8-bit RGB values.
func sameRGB(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	return r1>>8 == r2>>8 && g1>>8 == g2>>8 && b1>>8 == b2>>8
}

// smoothCheckpoint writes a checkpoint whose 14×14 position table is a
// smooth function of position (sines and cosines of a few frequencies), as
// trained tables roughly are, after one class-token row.
func smoothCheckpoint(t *testing.T) string {
	t.Helper()
	const g, dim = 14, 32
	table := make([]float32, (1+g*g)*dim)
	for i := range dim {
		table[i] = 0.3 // class-token row
	}
	for y := range g {
		for x := range g {
			row := table[(1+y*g+x)*dim:]
			for f := range dim / 4 {
				w := float64(f+1) * 0.35
				row[4*f] = float32(math.Sin(w * float64(x)))
				row[4*f+1] = float32(math.Cos(w * float64(x)))
				row[4*f+2] = float32(math.Sin(w * float64(y)))
				row[4*f+3] = float32(math.Cos(w * float64(y)))
			}
		}
	}
	path := filepath.Join(t.TempDir(), "smooth.safetensors")
	err := tensorout.WriteSafetensorsFile(path, map[string]tensorout.Tensor{
		"cls_token":               tensorout.F32([]int{1, 1, dim}, make([]float32, dim)),
		"pos_embed":               tensorout.F32([]int{1, 1 + g*g, dim}, table),
		"patch_embed.proj.weight": tensorout.F32([]int{dim, 3, 16, 16}, make([]float32, dim*3*16*16)),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPosvizResampledTableStaysLocal(t *testing.T) {
	ck := smoothCheckpoint(t)
	methods := []string{"bicubic", "bilinear", "nearest", "fourier"}
	if testing.Short() { // emulators and the race detector: the two extremes
		methods = []string{"bicubic", "fourier"}
	}
	for _, method := range methods {
		out := filepath.Join(t.TempDir(), method+".png")
		if err := runPosviz([]string{"-weights", ck, "-size", "384x384", "-method", method, "-out", out}); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		const g = 24 // 384 / 16
		cell := max(1, min(8, 1600/(g*g), 1600/(g*g)))
		gap := max(2, cell)
		top := 12 + 2*16 + 4
		at := func(tile, pos [2]int) uint32 { // the green of viridis grows with similarity
			x := 12 + tile[1]*(g*cell+gap) + pos[1]*cell + cell/2
			y := top + tile[0]*(g*cell+gap) + pos[0]*cell + cell/2
			_, gr, _, _ := img.At(x, y).RGBA()
			return gr >> 8
		}
		tile := [2]int{10, 10}
		self, near, far := at(tile, [2]int{10, 10}), at(tile, [2]int{10, 11}), at(tile, [2]int{0, 23})
		if self != uint32(viridis(1).G) {
			t.Errorf("%s: token's similarity to itself drawn as green %d, want %d", method, self, viridis(1).G)
		}
		if !(near > far) {
			t.Errorf("%s: neighbour (green %d) should look more similar than a far token (green %d)", method, near, far)
		}
	}
}

// Grids wider than -tiles show every k-th token's tile: 14×14 with -tiles 5
// is 5×5 tiles of every 3rd token, each still the whole 14×14 grid.
func TestPosvizSubsamplesLargeGrids(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub.png")
	if err := runPosviz([]string{"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-size", gridSize(t, "vit_cls_learned.safetensors", 14),
		"-tiles", "5", "-out", out}); err != nil {
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
	const g, tiles, step = 14, 5, 3
	cell := max(1, min(8, 1600/(tiles*g), 1600/(tiles*g)))
	gap := max(2, cell)
	top := 12 + 2*16 + 4
	if h := img.Bounds().Dy(); h != top+tiles*(g*cell+gap)-gap+12 {
		t.Errorf("image height %d, want %d", h, top+tiles*(g*cell+gap)-gap+12)
	}
	// Tile (1, 2) is token (1·step, 2·step) = (3, 6): its own cell has similarity 1.
	x := 12 + 2*(g*cell+gap) + 2*step*cell + cell/2
	y := top + 1*(g*cell+gap) + 1*step*cell + cell/2
	if got := img.At(x, y); !sameRGB(got, viridis(1)) {
		t.Errorf("tile (1,2) at token (3,6) is %v, want %v", got, viridis(1))
	}
}
