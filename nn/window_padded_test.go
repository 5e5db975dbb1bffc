package nn

import (
	"testing"

	"github.com/anyres/anyres/posenc"
)

// TestPaddedWindows: every grid token lies in exactly one window row, in
// timm's order (F.pad, reshape(B, H/ws, ws, W/ws, ws, C).transpose(2, 3)),
// and the remaining rows are padding.
func TestPaddedWindows(t *testing.T) {
	for _, tc := range []struct {
		g   posenc.Grid
		win [2]int
	}{{posenc.Grid{H: 5, W: 7}, [2]int{2, 3}}, {posenc.Grid{H: 4, W: 4}, [2]int{4, 4}}, {posenc.Grid{H: 1, W: 3}, [2]int{7, 7}}} {
		p := NewPaddedWindows(tc.g, tc.win)
		hp, wp := p.NY*tc.win[0], p.NX*tc.win[1]
		if hp < tc.g.H || hp-tc.g.H >= tc.win[0] || wp < tc.g.W || wp-tc.g.W >= tc.win[1] {
			t.Fatalf("%v / %v: padded to %d×%d", tc.g, tc.win, hp, wp)
		}
		// The reference order, built by enumeration: windows (wy, wx)
		// row-major, then the tokens (ty, tx) of each.
		var want []int
		for wy := 0; wy < p.NY; wy++ {
			for wx := 0; wx < p.NX; wx++ {
				for ty := 0; ty < tc.win[0]; ty++ {
					for tx := 0; tx < tc.win[1]; tx++ {
						y, x := wy*tc.win[0]+ty, wx*tc.win[1]+tx
						if y < tc.g.H && x < tc.g.W {
							want = append(want, y*tc.g.W+x)
						} else {
							want = append(want, -1)
						}
					}
				}
			}
		}
		if len(want) != p.Rows() {
			t.Fatalf("%v / %v: %d rows, want %d", tc.g, tc.win, p.Rows(), len(want))
		}
		seen := make([]int, tc.g.N())
		pad := 0
		for r, w := range want {
			got := p.Token(r)
			if got != w {
				t.Fatalf("%v / %v: row %d holds %d, want %d", tc.g, tc.win, r, got, w)
			}
			if got < 0 {
				pad++
			} else {
				seen[got]++
			}
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("%v / %v: token %d in %d rows", tc.g, tc.win, i, n)
			}
		}
		if pad != hp*wp-tc.g.N() {
			t.Errorf("%v / %v: %d padding rows, want %d", tc.g, tc.win, pad, hp*wp-tc.g.N())
		}
	}
}
