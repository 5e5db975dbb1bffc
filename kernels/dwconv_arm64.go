//go:build !purego

package kernels

func init() { register("dwconv", func(Level) {}) }
