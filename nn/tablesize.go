package nn

import (
	"fmt"
	"math"
)

// TableTrainSize finds the training image size of a learned position
// table of rows rows, for a model with prefix prefix tokens and the given
// patch size: the first stated size (config, name) whose grid fits the
// table, with the prefix tokens' rows or without them (noEmbedClass), else
// the square grid the rows make. Rows that make a square grid both after
// the prefix rows and without them (9 rows and 5 prefix tokens: 2×2 or
// 3×3) with no stated size that fits are refused: either guess could run
// a wrong layout without a word.
func TableTrainSize(rows, prefix int, patch [2]int, stated [][2]int) (size [2]int, noEmbedClass bool, err error) {
	fits := func(s [2]int) (bool, bool) {
		g := (s[0] / patch[0]) * (s[1] / patch[1])
		return rows == g+prefix || rows == g, rows == g && prefix > 0
	}
	for _, s := range stated {
		if ok, nec := fits(s); ok {
			return s, nec, nil
		}
	}
	ps := []int{prefix}
	if prefix > 0 {
		ps = append(ps, 0)
	}
	var squares [][2]int
	for _, p := range ps {
		if s := int(math.Round(math.Sqrt(float64(rows - p)))); rows > p && s*s == rows-p {
			squares = append(squares, [2]int{s * patch[0], s * patch[1]})
		}
	}
	switch len(squares) {
	case 1:
		_, nec := fits(squares[0])
		return squares[0], nec, nil
	case 2:
		return size, false, fmt.Errorf("%w: pos_embed's %d rows are a square grid both after %d prefix rows and without them, and no stated training size (%v) fits; give a config.json with model_args img_size",
			ErrConfig, rows, prefix, stated)
	}
	return size, false, fmt.Errorf("%w: pos_embed has %d rows; no training size (config %v) at patch %v with %d prefix tokens gives that many",
		ErrConfig, rows, stated, patch, prefix)
}
