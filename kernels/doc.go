// Package kernels holds the float32 compute kernels under anyres. Each
// family below is dispatched as a unit (`anyres info` lists the level each
// runs at):
//
//   - gemm: Sgemm and SgemmBatched (C = alpha·op(A)·op(B) + beta·C,
//     row-major, any strides), and GemmPacked with PackB for linear layers
//     (B packed once, an Epilogue of bias, activation and residual: the
//     AVX2 and AVX-512 micro-kernels add the bias and residual to their
//     accumulators before the store, an activation runs on the tile while
//     it is in L1); Threads sets how many goroutines a call may use.
//   - Attention: softmax(scale·q·kᵀ + bias)·v for one head, flash-style
//     (query blocks against key blocks with an online softmax, never the
//     N×N scores), on the gemm micro-kernels and the softmax kernels of the
//     active level; attentionRef is its plain specification.
//   - softmax: Softmax, SoftmaxTo, SoftmaxRows (with scale and bias folded
//     into the one pass) and OnlineSoftmax for attention in tiles.
//   - exp: Exp, float32 exp within 2 ULP.
//   - layernorm: LayerNorm and LayerNormRows.
//   - gelu: GELU (erf form) and GELUTanh.
//   - resample: F.interpolate's separable resampling (InterpTaps,
//     MatrixTaps, Taps, Resample), under posenc's table resizing.
//   - relbias: the gather-add of relative position bias (NewRelIndex,
//     RelBiasAdd; NewRelWindow, RelBiasAddWindow for Swin's windows).
//   - rope: RopeRotate, the rotation of q and k by 2-D RoPE tables.
//   - ropehalf: RopeRotateHalf, the same in the half-rotation layout
//     (pairs i and i+headDim/2: DINOv3).
//   - dwconv: DWConv3x3, the depthwise 3×3 convolution of PEG.
//
// Add and Scale are plain Go loops, not dispatched: they are memory-bound.
//
// Every family has a pure-Go implementation (level Generic) and, where it
// pays, assembly for AVX2+FMA and AVX-512 (amd64) and NEON (arm64); each
// family runs the best code it has at or below the process's level. The
// level amx (AVX-512 plus Intel AMX tiles, granted by Linux) adds tile
// kernels for the int8 and bfloat16 products only. The best level the CPU
// supports is chosen once, at start-up, by dispatch.go; the environment
// variable ANYRES_KERNELS (generic, avx2, avx512, amx, neon) lowers it for
// the whole process (avx512 on an AMX machine turns the tiles off). Asking for a level this CPU or build
// lacks stops the process at start-up with a message naming the missing
// features: never a silent fallback. Levels, Available, Active, SetLevel and
// Info tell and change what runs (SetLevel is for tests: see package
// kerneltest). The purego build tag compiles no assembly at all.
//
// Kernels panic when a caller breaks a shape contract (a slice too short for
// the sizes given), as BLAS and gonum do; they never read or write outside
// the slices they are handed.
package kernels
