//go:build gc && !purego

package kernels

func init() {
	register("add", func(l Level) {
		if l == AVX2 {
			addImpl = addAVX2
		} else {
			addImpl = addGeneric
		}
	}, AVX2)
}
