package nn

import "testing"

func TestTableTrainSize(t *testing.T) {
	p := [2]int{14, 14}
	for _, c := range []struct {
		rows, prefix int
		stated       [][2]int
		want         [2]int
		nec, err     bool
	}{
		{rows: 9, prefix: 5, err: true},                               // 2×2 after 5 rows, or 3×3 alone
		{rows: 9, prefix: 5, stated: [][2]int{{518, 518}}, err: true}, // a stated size that does not fit decides nothing
		{rows: 9, prefix: 5, stated: [][2]int{{42, 42}}, want: [2]int{42, 42}, nec: true},
		{rows: 9, prefix: 5, stated: [][2]int{{28, 28}}, want: [2]int{28, 28}},
		{rows: 10, prefix: 1, want: [2]int{42, 42}}, // 3×3 after the class row
		{rows: 9, prefix: 0, want: [2]int{42, 42}},
		{rows: 7, prefix: 1, err: true}, // no square either way
	} {
		got, nec, err := TableTrainSize(c.rows, c.prefix, p, c.stated)
		if (err != nil) != c.err || (err == nil && (got != c.want || nec != c.nec)) {
			t.Errorf("%d rows, %d prefix, stated %v: %v %v %v, want %v %v (error %v)", c.rows, c.prefix, c.stated, got, nec, err, c.want, c.nec, c.err)
		}
	}
}
