//go:build purego || !gc || !(amd64 || arm64)

package kernels

func init() { register("resample", func(Level) { weightedRowSumImpl = weightedRowSumGeneric }) }
