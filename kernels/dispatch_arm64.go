//go:build gc && !purego

package kernels

const goarch = "arm64"

// compiledLevels are the levels this build has assembly for.
var compiledLevels = []Level{Generic, NEON}

// Advanced SIMD is part of every ARMv8-A core.
const neonAlwaysPresent = true

// amxOSMissing: AMX is an amd64 level (never compiled here).
func amxOSMissing() string { return "amd64 tiles" }
