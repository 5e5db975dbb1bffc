package posenc

import "fmt"

// maxTableValues caps the size of any table built here (1 GiB of float32),
// so that no grid from outside can make an encoder allocate without bound.
const maxTableValues = 1 << 28

// checkGrid validates g and the package's cap on its sides (MaxGridSide),
// checked before any size is multiplied, so that no product overflows int
// even on 32-bit platforms.
func checkGrid(g Grid) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if g.H > MaxGridSide || g.W > MaxGridSide {
		return fmt.Errorf("posenc: grid %s: sides above %d are not supported", g, MaxGridSide)
	}
	return nil
}

// maxPrefix and maxWidth cap prefix token counts and row widths from
// callers for the same reason.
const (
	maxPrefix = 1 << 16
	maxWidth  = 1 << 20
)

// checkTokens is CheckTokens behind the caps: grid sides, prefix, width,
// and the whole matrix within maxTableValues, all before any product that
// could overflow.
func checkTokens(x []float32, prefix int, g Grid, dim int) error {
	if err := checkGrid(g); err != nil {
		return err
	}
	if prefix > maxPrefix || dim > maxWidth {
		return fmt.Errorf("posenc: prefix %d or width %d above the supported %d and %d", prefix, dim, maxPrefix, maxWidth)
	}
	if dim > 0 && prefix >= 0 {
		if err := checkTableSize("token matrix", prefix+g.N(), dim); err != nil {
			return err
		}
	}
	return CheckTokens(x, prefix, g, dim)
}

// checkTableSize reports whether a table of rows×width values may be built.
func checkTableSize(what string, rows, width int) error {
	if rows <= 0 || width <= 0 || int64(rows)*int64(width) > maxTableValues {
		return fmt.Errorf("posenc: %s: %d×%d values is outside (0, %d]", what, rows, width, maxTableValues)
	}
	return nil
}
