//go:build purego || !gc || !(amd64 || arm64)

package kernels

import "runtime"

var goarch = runtime.GOARCH

// compiledLevels: a purego build, or an architecture without assembly, has
// only the pure-Go kernels.
var compiledLevels = []Level{Generic}

const neonAlwaysPresent = false

// amxOSMissing: AMX is an amd64 level (never compiled here).
func amxOSMissing() string { return "amd64 tiles" }
