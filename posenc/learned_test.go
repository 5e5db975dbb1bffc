package posenc_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/posenc"
)

// TestLearnedNoEmbedClass: a table without prefix rows (timm's
// no_embed_class) adds to the patch tokens only and leaves the class and
// register tokens as they are.
func TestLearnedNoEmbedClass(t *testing.T) {
	old, new := posenc.Grid{H: 4, W: 6}, posenc.Grid{H: 5, W: 3}
	const dim, prefix = 7, 5
	table := randTable(old.N(), dim, 3)
	l, err := posenc.NewLearned(table, 0, old, dim, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	x := randTable(prefix+new.N(), dim, 4)
	orig := append([]float32(nil), x...)
	if err := l.AddTo(x, prefix, new, dim); err != nil {
		t.Fatal(err)
	}
	golden.Close(t, "prefix tokens", x[:prefix*dim], orig[:prefix*dim], 0, 0)
	grid, err := posenc.ResampleGrid(table, old, new, dim, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range grid {
		grid[i] += orig[prefix*dim+i]
	}
	golden.Close(t, "patch tokens", x[prefix*dim:], grid, 0, 0)
}

func TestLearnedErrors(t *testing.T) {
	old := posenc.Grid{H: 3, W: 3}
	l, err := posenc.NewLearned(make([]float32, (1+9)*4), 1, old, 4, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	g := posenc.Grid{H: 2, W: 5}
	for _, tc := range []struct {
		name        string
		x           []float32
		prefix, dim int
		g           posenc.Grid
		err         string
	}{
		{"dim mismatch", make([]float32, (1+10)*5), 1, 5, g, "4"},
		{"prefix mismatch", make([]float32, (2+10)*4), 2, 4, g, "prefix tokens"},
		{"no prefix tokens", make([]float32, 10*4), 0, 4, g, "prefix tokens"},
		{"short tokens", make([]float32, (1+10)*4-1), 1, 4, g, "values"},
		{"zero grid", make([]float32, 4), 1, 4, posenc.Grid{W: 5}, "positive"},
		{"huge grid", make([]float32, (1+5000)*4), 1, 4, posenc.Grid{H: 5000, W: 1}, "limited"},
	} {
		if err := l.AddTo(tc.x, tc.prefix, tc.g, tc.dim); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.err)
		}
	}
	if _, err := l.Table(posenc.Grid{H: -1, W: 2}); err == nil {
		t.Error("Table of a negative grid succeeded")
	}
	if _, err := posenc.NewLearned(make([]float32, 10*4), 1, posenc.Grid{H: 3, W: 4}, 4, posenc.DefaultResampleOptions()); err == nil {
		t.Error("NewLearned with a table that fits no grid succeeded")
	}
	if _, err := posenc.NewLearned(make([]float32, 10*4), 1, old, 4, posenc.ResampleOptions{Method: posenc.Nearest, Antialias: true}); err == nil {
		t.Error("NewLearned with nearest + antialias succeeded")
	}
}

// TestLearnedConcurrentCache adds positions for more grids than the cache
// holds from many goroutines at once (run it with -race) and checks every
// result against a fresh resample.
func TestLearnedConcurrentCache(t *testing.T) {
	old := posenc.Grid{H: 8, W: 8}
	const dim = 6
	table := randTable(1+old.N(), dim, 5)
	l, err := posenc.NewLearned(table, 1, old, dim, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	var grids []posenc.Grid
	for h := 1; h <= 6; h++ {
		for w := 1; w <= 5; w++ {
			grids = append(grids, posenc.Grid{H: h * 2, W: w * 3})
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(grids))
	for r := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range grids {
				g := grids[(i+r*5)%len(grids)]
				x := make([]float32, (1+g.N())*dim)
				if err := l.AddTo(x, 1, g, dim); err != nil {
					errs <- err
					return
				}
				want, err := posenc.ResampleAbsPosEmbed(table, 1, old, g, dim, posenc.DefaultResampleOptions())
				if err != nil {
					errs <- err
					return
				}
				for k := range want {
					if x[k] != want[k] {
						errs <- fmt.Errorf("grid %v: value %d = %g, want %g", g, k, x[k], want[k])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestLearnedTableIsACopy: callers may change what Table returns, and the
// table given to NewLearned, without touching the encoder.
func TestLearnedTableIsACopy(t *testing.T) {
	old := posenc.Grid{H: 2, W: 2}
	table := []float32{1, 2, 3, 4, 5}
	l, err := posenc.NewLearned(table, 1, old, 1, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	table[0] = 100
	a, _ := l.Table(old)
	a[1] = 200
	b, _ := l.Table(old)
	golden.Close(t, "Table", b, []float32{1, 2, 3, 4, 5}, 0, 0)
	if l.Grid() != old || l.Prefix() != 1 || l.Dim() != 1 || l.Options() != posenc.DefaultResampleOptions() {
		t.Errorf("accessors: %v %d %d %v", l.Grid(), l.Prefix(), l.Dim(), l.Options())
	}
	var _ posenc.Encoder = l
}
