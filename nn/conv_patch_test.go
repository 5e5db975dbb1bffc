package nn

import "testing"

// TestConvPatch: a convolution assembled from ConvPatch rows equals the
// direct sum over the visible taps, at the borders too, of the whole image
// and of a top-left crop.
func TestConvPatch(t *testing.T) {
	img := Image{C: 2, H: 9, W: 11}
	img.Pix = make([]float32, img.C*img.H*img.W)
	for i := range img.Pix {
		img.Pix[i] = float32(i%13) - 6
	}
	k, s, p := [2]int{7, 5}, [2]int{4, 3}, [2]int{3, 2}
	oh, ow := ConvOut(img.H, k[0], s[0], p[0]), ConvOut(img.W, k[1], s[1], p[1])
	if oh != 3 || ow != 4 {
		t.Fatalf("output %d×%d, want 3×4 (PyTorch's size rule)", oh, ow)
	}
	row := make([]float32, img.C*k[0]*k[1])
	for _, vis := range [][2]int{{img.H, img.W}, {6, 8}} {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for i := range row {
					row[i] = 99 // must all be overwritten
				}
				ConvPatch(row, img, vis, k, s, p, oy, ox)
				for c := 0; c < img.C; c++ {
					for ky := 0; ky < k[0]; ky++ {
						for kx := 0; kx < k[1]; kx++ {
							y, x := oy*s[0]-p[0]+ky, ox*s[1]-p[1]+kx
							var want float32
							if y >= 0 && y < vis[0] && x >= 0 && x < vis[1] {
								want = img.Pix[(c*img.H+y)*img.W+x]
							}
							if got := row[(c*k[0]+ky)*k[1]+kx]; got != want {
								t.Fatalf("(%d,%d) tap c%d (%d,%d): %g, want %g", oy, ox, c, ky, kx, got, want)
							}
						}
					}
				}
			}
		}
	}
	if ConvOut(3, 7, 4, 1) != 0 {
		t.Error("a kernel wider than the padded input gives outputs")
	}
}
