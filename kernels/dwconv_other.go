//go:build purego || !gc || !(amd64 || arm64)

package kernels

func init() { register("dwconv", func(Level) {}) } // the pure-Go kernel only
