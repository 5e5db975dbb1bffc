//go:build gc && !purego

package kernels

func init() {
	register("relbias", func(l Level) {
		switch l {
		case AVX2:
			relBiasAdd, relBiasWindow = relBiasAddAVX2, relBiasWindowAVX2
		case AVX512:
			// Masked AVX-512 stores made the window kernel slower on Zen 4.
			relBiasAdd, relBiasWindow = relBiasAddAVX512, relBiasWindowAVX2
		default:
			relBiasAdd, relBiasWindow = relBiasAddGeneric, relBiasWindowGeneric
		}
	}, AVX2, AVX512)
}

// relBiasAddAVX2 is relBiasAddGeneric with AVX2: eight scores at a time,
// their table entries fetched by one VGATHERDPS. Every index must lie in
// table (RelIndex guarantees it); len(index) ≥ len(scores).
//
//go:noescape
func relBiasAddAVX2(scores, table []float32, index []int32)

// relBiasAddAVX512 is relBiasAddGeneric with AVX-512: sixteen scores per
// gather, the tail under a k-mask.
//
//go:noescape
func relBiasAddAVX512(scores, table []float32, index []int32)

// relBiasWindowAVX2 is relBiasWindowGeneric with AVX2: each query's keys on
// one window row are w contiguous scores plus w contiguous table entries,
// added eight, then four at a time, the last w mod 4 one by one (AVX2's
// masked stores are slow on AMD cores).
//
//go:noescape
func relBiasWindowAVX2(scores []float32, ld int, rev []float32, start []int32, h, w int)
