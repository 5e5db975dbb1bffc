package kernels

import "testing"

// TestTileRows checks the register-tile schedule every packed-A loop walks:
// it covers the rows exactly, no tile is taller than mr, it has as many
// tiles as ⌈rows/mr⌉ (the packed A buffers hold that many panels), and no
// tile is shorter than minTileRows unless the rows or half a tile are.
func TestTileRows(t *testing.T) {
	for _, mr := range []int{1, 2, 4, 6, 8, 14, 16} {
		for rows := 1; rows <= 200; rows++ {
			tiles, h := 0, 0
			for i := 0; i < rows; i += h {
				h = tileRows(mr, rows-i)
				if h < 1 || h > mr {
					t.Fatalf("mr=%d rows=%d: tile at %d has %d rows", mr, rows, i, h)
				}
				if h < min(minTileRows, (mr+1)/2, rows) {
					t.Fatalf("mr=%d rows=%d: tile at %d has only %d rows", mr, rows, i, h)
				}
				tiles++
			}
			if want := (rows + mr - 1) / mr; tiles != want {
				t.Fatalf("mr=%d rows=%d: %d tiles, want %d", mr, rows, tiles, want)
			}
		}
	}
}
