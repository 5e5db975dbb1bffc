package bench

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// PosEncCase is one position-encoding benchmark: run applies the encoding
// once; Values is how many output values one run writes (for a rate).
type PosEncCase struct {
	Name   string
	Values int
	Setup  func() (run func() error, err error)
}

// PosEncCases are the benchmarks of 'anyres bench posenc': relative-bias
// gather+add for 7×7 and 24×24 windows with 12 heads, RoPE on q and k of
// 577 tokens × 12 heads × 64 (a 24×24 grid and a class token), PEG on a
// 24×24×768 grid.
func PosEncCases() []PosEncCase {
	rng := rand.New(rand.NewPCG(1, 2))
	randSlice := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.Float64()*2 - 1)
		}
		return s
	}
	relBias := func(w int) PosEncCase {
		const heads = 12
		g := posenc.Grid{H: w, W: w}
		n := g.N()
		return PosEncCase{
			Name: fmt.Sprintf("relbias_%dx%d_h%d", w, w, heads), Values: heads * n * n,
			Setup: func() (func() error, error) {
				b, err := posenc.NewRelPosBias(randSlice(posenc.RelPosTableRows(g, false)*heads), heads, g, false, nil)
				if err != nil {
					return nil, err
				}
				// One head's scores at a time, as attention computes them
				// (and softmaxes them while they are in cache).
				scores := randSlice(n * n)
				return func() error {
					for h := 0; h < heads; h++ {
						if err := b.AddBias(scores, h, g, 0, 0, n); err != nil {
							return err
						}
					}
					return nil
				}, nil
			},
		}
	}
	const tokens, heads, hd = 577, 12, 64
	return []PosEncCase{
		relBias(7),
		relBias(24),
		{Name: "rope_577x12x64_qk", Values: 2 * tokens * heads * hd, Setup: func() (func() error, error) {
			r := &posenc.Rope2D{Options: posenc.RopeOptions{Bands: posenc.FreqBands}}
			q, k := randSlice(tokens*heads*hd), randSlice(tokens*heads*hd)
			g := posenc.Grid{H: 24, W: 24}
			return func() error { return r.Rotate(q, k, g, heads, hd, 1) }, nil
		}},
		{Name: "peg_24x24x768", Values: 24 * 24 * 768, Setup: func() (func() error, error) {
			const c = 768
			p, err := posenc.NewPEG(randSlice(9*c), randSlice(c), c)
			if err != nil {
				return nil, err
			}
			x := randSlice(24 * 24 * c)
			g := posenc.Grid{H: 24, W: 24}
			return func() error { return p.AddTo(x, 0, g, c) }, nil
		}},
	}
}

// PosEnc runs every case at every kernel level this machine can run and
// prints the median of repeats of about minTime each.
func PosEnc(p *Printer, minTime time.Duration, repeats int) error {
	for _, c := range PosEncCases() {
		for _, l := range kernels.Levels() {
			restore, err := kernels.SetLevel(l)
			if err != nil {
				return err
			}
			ns, err := timeCase(c, minTime, repeats)
			restore()
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			if err := p.Print(Result{Kind: "posenc", Fields: map[string]any{
				"case": c.Name, "level": l.String(), "us": round(ns/1e3, 3),
				"gvalues_per_s": round(float64(c.Values)/ns, 3),
			}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// timeCase returns the median nanoseconds per run over repeats batches.
func timeCase(c PosEncCase, minTime time.Duration, repeats int) (float64, error) {
	run, err := c.Setup()
	if err != nil {
		return 0, err
	}
	if err := run(); err != nil { // warm-up: tables are built and cached here
		return 0, err
	}
	var per []float64
	for r := 0; r < max(repeats, 1); r++ {
		n, start := 0, time.Now()
		for time.Since(start) < minTime || n == 0 {
			if err := run(); err != nil {
				return 0, err
			}
			n++
		}
		per = append(per, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	sort.Float64s(per)
	return per[len(per)/2], nil
}
