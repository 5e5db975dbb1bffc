// Package kerneltest runs a test or benchmark body once per kernel level this
// machine can run, so every kernel test covers every implementation (generic,
// avx2, avx512, neon) without extra code, in the manner of Go's
// crypto/internal/impl registry (Run, Bench).
//
// It also holds what kernel tests share: outputs inside guard bands that
// catch writes outside them (Slice, Matrix, Guarded.Check), random inputs
// (Rand, RandFill), the lengths to try (Lengths) and comparisons with
// float64 references (ULPDiff, Close).
package kerneltest

import (
	"testing"

	"github.com/anyres/anyres/kernels"
)

// Run runs body as one subtest per available kernel level (named after the
// level), with every kernel family switched to that level for its duration.
// The subtests must not call t.Parallel: the level is process-wide.
func Run(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	for _, l := range kernels.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := kernels.SetLevel(l)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			body(t)
		})
	}
}

// Bench runs body as one sub-benchmark per available kernel level.
func Bench(b *testing.B, body func(b *testing.B)) {
	b.Helper()
	for _, l := range kernels.Levels() {
		b.Run(l.String(), func(b *testing.B) {
			restore, err := kernels.SetLevel(l)
			if err != nil {
				b.Fatal(err)
			}
			defer restore()
			body(b)
		})
	}
}
