package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkInt8AttentionParts times the int8 attention's two kernels at each
// level that has them, on one query block: attnI8Dot over a P·V tile (kg
// 64: 256 keys) and a Q·Kᵀ tile (kg 16: head dimension 64), in multiplies
// per nanosecond, and attnI8Softmax over 60 rows of 256 scores, in
// nanoseconds per score.
//
//	go test ./kernels -run - -bench Int8AttentionParts
func BenchmarkInt8AttentionParts(b *testing.B) {
	for _, l := range []Level{AVX512, AVX2} {
		restore, err := SetLevel(l)
		if err != nil {
			continue
		}
		if !AttentionInt8() {
			restore()
			continue
		}
		mr := attnI8MR
		for _, kg := range []int{64, 16} {
			a := make([]uint8, mr*4*kg)
			bb := make([]int8, 4*64*kg)
			for i := range bb {
				a[i%len(a)], bb[i] = uint8(i*7), int8(i%(2*attnI8KVMax+1)-attnI8KVMax)
			}
			off, scl, s := make([]int32, 64), make([]float32, 64), make([]float32, mr*64)
			b.Run(fmt.Sprintf("%s/dot/kg=%d", l, kg), func(b *testing.B) {
				for b.Loop() {
					attnI8Dot(kg, &a[0], 4*kg, &bb[0], 64*kg, &off[0], &scl[0], &s[0], 256, nil)
				}
				b.ReportMetric(float64(mr*64*4*kg*b.N)/float64(b.Elapsed().Nanoseconds()), "MAC/ns")
			})
		}
		const rows, n = attnI8Rows, attnKeyBlock
		s := make([]float32, rows*n)
		for i := range s {
			s[i] = float32(i%97) * 0.05
		}
		p := make([]uint8, rows*n)
		f := func() []float32 { return make([]float32, rows) }
		rs, m, mold, bm, sq, sf := f(), f(), f(), f(), f(), f()
		for i := range rs {
			rs[i] = 1
		}
		b.Run(fmt.Sprintf("%s/softmax", l), func(b *testing.B) {
			for b.Loop() {
				for i := range m {
					m[i] = negInf
				}
				attnI8Softmax(p, n, s, n, nil, 0, rows, n, rs, m, mold, bm, sq, sf)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows*n), "ns/score")
		})
		restore()
	}
}
