//go:build purego || !gc || !(amd64 || arm64)

package kernels

func init() {
	register("qgemm", func(Level) { qLevel = &qGeneric })
}
