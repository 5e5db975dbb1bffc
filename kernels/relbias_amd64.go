//go:build !purego

package kernels

func init() {
	register("relbias", func(l Level) {
		switch l {
		case AVX2:
			relBiasAdd = relBiasAddAVX2
		case AVX512:
			relBiasAdd = relBiasAddAVX512
		default:
			relBiasAdd = relBiasAddGeneric
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
