//go:build purego || !gc || !(amd64 || arm64)

package kernels

// gemmPanel is the column width of a packed B panel.
const gemmPanel = 16

func init() {
	register("gemm", func(Level) { gemmLevel = &gemmGeneric })
}
