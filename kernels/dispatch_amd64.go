//go:build gc && !purego

package kernels

const goarch = "amd64"

// compiledLevels are the levels this build has assembly for.
var compiledLevels = []Level{Generic, AVX2, AVX512, AMX}

const neonAlwaysPresent = false
