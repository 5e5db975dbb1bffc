package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkQuantNarrowAB times GemmQuant (one thread, the active level,
// with a bias: tiles straight into C, as a model's layers run) on
// ViT-B/16's 197- and 577-row shapes with a narrow weight (7 bits,
// QuantizeWeightsTo(…, NarrowQuantMax)), alternating the narrow kernel and
// the wide one on the same weight call by call, and reports the median
// speed ratio narrow/wide. Levels without a narrow kernel report 1.
// Run: ANYRES_KERNELS=avx2 go test ./kernels -run '^$' -bench QuantNarrowAB -benchtime 40x
func BenchmarkQuantNarrowAB(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	defer func() { qWideOnly = false }()
	for _, m := range []int{197, 577} {
		for _, nk := range [][2]int{{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}} {
			n, k := nk[0], nk[1]
			b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
				a := randSlice(rng, m*k)
				w := randSlice(rng, n*k)
				q, s := QuantizeWeightsTo(w, n, k, k, NarrowQuantMax)
				qb := NewQuantB(k, n, q, s)
				if !qb.Narrow() {
					b.Fatal("a weight quantized to NarrowQuantMax is not narrow")
				}
				c := make([]float32, m*n)
				ep := Epilogue{Bias: randSlice(rng, n)}
				call := func(wide bool) float64 {
					qWideOnly = wide
					t := time.Now()
					GemmQuant(1, m, a, k, qb, c, n, ep)
					return time.Since(t).Seconds()
				}
				call(false)
				call(true)
				var ratio []float64
				for i := 0; i < b.N; i++ {
					if i%2 == 0 {
						nw := call(false)
						ratio = append(ratio, call(true)/nw)
					} else {
						wd := call(true)
						ratio = append(ratio, wd/call(false))
					}
				}
				slices.Sort(ratio)
				b.ReportMetric(ratio[len(ratio)/2], "narrow/wide")
				b.ReportMetric(2*float64(m*n*k)/1e9, "GOP")
			})
		}
	}
}
