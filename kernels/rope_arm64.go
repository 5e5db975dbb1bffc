//go:build !purego

package kernels

func init() { register("rope", func(Level) {}) }
