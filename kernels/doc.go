// Package kernels holds the float32 compute kernels under anyres: matrix
// multiply, softmax, exp, layer norm, GELU, resampling and relative-bias
// gather/add.
//
// Every kernel family has a pure-Go implementation and, where it pays,
// assembly for AVX2+FMA, AVX-512 (amd64) and NEON (arm64). The best level the
// CPU supports is chosen once, at start-up, by dispatch.go; the environment
// variable ANYRES_KERNELS (generic, avx2, avx512, neon) lowers it for the
// whole process. Asking for a level this CPU or build lacks stops the process
// at start-up with a message naming the missing features: never a silent
// fallback. The purego build tag compiles no assembly at all.
//
// Kernels panic when a caller breaks a shape contract (a slice too short for
// the sizes given), as BLAS and gonum do; they never read or write outside
// the slices they are handed.
package kernels
