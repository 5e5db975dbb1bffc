// Shared by exp_amd64.s, softmax_amd64.s and gelu_amd64.s: the constants of
// e^x and the macros that compute it on one vector, with AVX2+FMA (ymm) and
// AVX-512 (zmm). Each including file gets its own copy of the tables
// (<> symbols are file-local).
//
// e^x = 2^n · e^r with n = round(x·log2 e) and r = x - n·ln2, |r| ≤ ln2/2,
// where n·ln2 is subtracted in two parts (ln2hi + ln2lo, Cody-Waite; with
// FMA the first subtraction is exact). e^r is a degree-7 polynomial,
// 1 + r(1 + r(1/2 + r·P(r))) with the minimax coefficients of SLEEF's expf
// (within 1 ULP), evaluated as one Horner chain. x is first
// clamped to [-104, 89]: e^-104 rounds to 0 and e^89 overflows, so the clamp
// changes no result and keeps n within int32 and the scale within two
// exponent fields. The scale 2^n is applied as 2^(n>>1) · 2^(n - n>>1): the
// first product is exact, so a subnormal result is rounded once. The clamps
// keep a NaN input (VMAXPS/VMINPS return their second source, Go's first
// operand, when either is NaN), and a NaN r makes the result NaN.

#include "textflag.h"
#include "reduce_amd64.h"

// Each constant is splatted 8 times (32 bytes) so that AVX2 code can use it
// as a memory operand; AVX-512 code broadcasts the first copy.
#define SPLAT(off, v) DATA expc<>+off+0(SB)/4, $v; DATA expc<>+off+4(SB)/4, $v; DATA expc<>+off+8(SB)/4, $v; DATA expc<>+off+12(SB)/4, $v; DATA expc<>+off+16(SB)/4, $v; DATA expc<>+off+20(SB)/4, $v; DATA expc<>+off+24(SB)/4, $v; DATA expc<>+off+28(SB)/4, $v

SPLAT(0, 0xc2d00000)   // -104: below it e^x rounds to 0
SPLAT(32, 0x42b20000)  // 89: above ln(MaxFloat32) = 88.72
SPLAT(64, 0x3fb8aa3b)  // log2 e
SPLAT(96, 0x3f317200)  // ln2hi = 0.693145751953125
SPLAT(128, 0x35bfbe8e) // ln2lo = 1.4286068e-06
SPLAT(160, 0x39502bda) // c0 = 1.9852762e-04
SPLAT(192, 0x3ab696c9) // c1 = 1.3930436e-03
SPLAT(224, 0x3c0888a6) // c2 = 8.333361e-03
SPLAT(256, 0x3d2aaa7a) // c3 = 4.1666485e-02
SPLAT(288, 0x3e2aaaab) // c4 = 1.6666667e-01
SPLAT(320, 0x3f000000) // c5 = 0.5
SPLAT(352, 0x3f800000) // 1
SPLAT(384, 0x0000007f) // 127, the exponent bias (int32)
SPLAT(416, 0xff800000) // -Inf
SPLAT(448, 0x00000000) // 0: the bias operand when there is none
SPLAT(480, 0x00000000)
SPLAT(512, 0x80000000) // -0: the sign bit
SPLAT(544, 0xc2b00000) // -88: EXPFAST_AVX2's lower clamp (2^-127 scales to 0)
SPLAT(576, 0x4b40007f) // 1.5·2^23 + 127: rounds to an integer in the low bits
SPLAT(608, 0xc2ae999a) // -87.3: EXPFLUSH_AVX512's bound (e^-87.3 > 2^-126)
SPLAT(640, 0x00800000) // 1 in the exponent field's high word (EXPFAST_AVX2)
SPLAT(672, 0x437f0000) // 255: the int8 attention's probability scale
GLOBL expc<>(SB), RODATA|NOPTR, $704

#define EXPC_LO 0
#define EXPC_NEGINF 416
#define EXPC_ZERO 448
#define EXPC_NEGZERO 512

// tailmask<>+32-4k (k in 1..7) loads a ymm mask whose first k lanes are set.
DATA tailmask<>+0(SB)/8, $0xffffffffffffffff
DATA tailmask<>+8(SB)/8, $0xffffffffffffffff
DATA tailmask<>+16(SB)/8, $0xffffffffffffffff
DATA tailmask<>+24(SB)/8, $0xffffffffffffffff
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// TAILMASK_AVX2 sets mask (ymm) to the first CX (1..7) lanes; clobbers AX, R8.
#define TAILMASK_AVX2(mask) \
	MOVQ CX, AX; \
	NEGQ AX; \
	LEAQ tailmask<>+32(SB), R8; \
	VMOVUPS (R8)(AX*4), mask

// TAILMASK_AVX512 sets K1 to the first CX (1..15) lanes; clobbers AX.
#define TAILMASK_AVX512 \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// EXPCONST_AVX2 loads the clamp bounds that EXP_AVX2 keeps in registers
// (Y14, Y15); the other constants are memory operands.
#define EXPCONST_AVX2 \
	VMOVUPS expc<>+0(SB), Y14; \
	VMOVUPS expc<>+32(SB), Y15

// EXP_AVX2 sets x = e^x (ymm); n, u, p are scratch. Needs EXPCONST_AVX2.
#define EXP_AVX2(x, n, u, p) \
	VMAXPS x, Y14, x; \
	VMINPS x, Y15, x; \
	VMULPS expc<>+64(SB), x, p; \
	VCVTPS2DQ p, n; \
	VCVTDQ2PS n, u; \
	VFNMADD231PS expc<>+96(SB), u, x; \
	VFNMADD231PS expc<>+128(SB), u, x; \
	VMOVUPS expc<>+160(SB), p; \
	VFMADD213PS expc<>+192(SB), x, p; \
	VFMADD213PS expc<>+224(SB), x, p; \
	VFMADD213PS expc<>+256(SB), x, p; \
	VFMADD213PS expc<>+288(SB), x, p; \
	VFMADD213PS expc<>+320(SB), x, p; \
	VFMADD213PS expc<>+352(SB), x, p; \
	VFMADD213PS expc<>+352(SB), x, p; \
	VPSRAD $1, n, u; \
	VPSUBD u, n, n; \
	VPADDD expc<>+384(SB), u, u; \
	VPADDD expc<>+384(SB), n, n; \
	VPSLLD $23, u, u; \
	VPSLLD $23, n, n; \
	VMULPS u, p, p; \
	VMULPS n, p, x

// EXPFASTCONST_AVX2 loads the clamps of EXPFAST_AVX2 into Y14, Y15.
#define EXPFASTCONST_AVX2 \
	VMOVUPS expc<>+544(SB), Y14; \
	VMOVUPS expc<>+32(SB), Y15

// EXPFAST_AVX2 sets x = e^x (ymm) for softmax and GELU, where results below
// 2^-126 do not matter; n, p are scratch. Needs EXPFASTCONST_AVX2. x is
// clamped to [-88, 89]; x·log2 e + (1.5·2^23 + 127) rounds n + 127 into the
// low bits of n's float, which shifted left by 23 is 2^n itself. One less
// in the exponent field, saturating at 0 (VPSUBUSW on its high word), makes
// it 2^(n-1), or 0 for n ≤ -126, and the result is 2^(n-1)·2e^r: the same
// bits where they are normal, and 0 where they would be subnormal (which
// costs an Intel core a microcode assist per vector) or for n = -127, so
// e^-Inf is exactly 0. For n = 128 (x ≥ 88.4) the product overflows to
// +Inf beyond ln(MaxFloat32) and is right below it. The polynomial is
// EXP_AVX2's, evaluated by Estrin's scheme (pairs of terms, then r², r⁴)
// for a dependency chain of 4 FMAs instead of 7: GELU and softmax are
// latency-bound. n, p, q, r are scratch.
#define EXPFAST_AVX2(x, n, p, q, r) \
	VMAXPS x, Y14, x; \
	VMINPS x, Y15, x; \
	EXPFASTREDUCE_AVX2(x, n, p); \
	EXPFASTPOLY_AVX2(x, n, p, q, r)

// EXPFASTREDUCE_AVX2 is EXPFAST_AVX2's range reduction on a clamped x: x
// = r, n = the bits of 2^(n-1) (0 for n ≤ -126); p scratch. A caller may
// run the two halves on different vectors (softmaxU8BlockAVX2 pipelines
// them).
#define EXPFASTREDUCE_AVX2(x, n, p) \
	VMOVUPS expc<>+576(SB), n; \
	VFMADD231PS expc<>+64(SB), x, n; \
	VSUBPS expc<>+576(SB), n, p; \
	VFNMADD231PS expc<>+96(SB), p, x; \
	VFNMADD231PS expc<>+128(SB), p, x; \
	VPSLLD $23, n, n; \
	VPSUBUSW expc<>+640(SB), n, n

// EXPFASTPOLY_AVX2 is the rest of EXPFAST_AVX2: x = e^r·2^n from
// EXPFASTREDUCE_AVX2's x and n; p, q, r scratch.
#define EXPFASTPOLY_AVX2(x, n, p, q, r) \
	VMULPS x, x, r; \
	VMOVUPS expc<>+160(SB), p; \
	VFMADD213PS expc<>+192(SB), x, p; \
	VMOVUPS expc<>+224(SB), q; \
	VFMADD213PS expc<>+256(SB), x, q; \
	VFMADD213PS q, r, p; \
	VMOVUPS expc<>+288(SB), q; \
	VFMADD213PS expc<>+320(SB), x, q; \
	VADDPS expc<>+352(SB), x, x; \
	VFMADD213PS x, r, q; \
	VMULPS r, r, r; \
	VFMADD213PS q, r, p; \
	VADDPS p, p, p; \
	VMULPS n, p, x

// EXPCONST_AVX512 broadcasts the constants of EXP_AVX512 into Z16-Z28.
#define EXPCONST_AVX512 \
	VBROADCASTSS expc<>+0(SB), Z16; \
	VBROADCASTSS expc<>+32(SB), Z17; \
	VBROADCASTSS expc<>+64(SB), Z18; \
	VBROADCASTSS expc<>+96(SB), Z19; \
	VBROADCASTSS expc<>+128(SB), Z20; \
	VBROADCASTSS expc<>+160(SB), Z21; \
	VBROADCASTSS expc<>+192(SB), Z22; \
	VBROADCASTSS expc<>+224(SB), Z23; \
	VBROADCASTSS expc<>+256(SB), Z24; \
	VBROADCASTSS expc<>+288(SB), Z25; \
	VBROADCASTSS expc<>+320(SB), Z26; \
	VBROADCASTSS expc<>+352(SB), Z27; \
	VPBROADCASTD expc<>+384(SB), Z28

// EXP_AVX512 sets x = e^x (zmm); n, u, p are scratch (u unused). Needs
// EXPCONST_AVX512. AVX-512 has the two steps AVX2 builds by hand: VRNDSCALEPS
// rounds x·log2 e to n as a float, and VSCALEFPS multiplies by 2^n with one
// rounding (so subnormal results are right and overflow gives +Inf). The
// polynomial runs as one Horner chain: 1 + r(1 + r(1/2 + r(c4 + … ))).
#define EXP_AVX512(x, n, u, p) \
	VMAXPS x, Z16, x; \
	VMINPS x, Z17, x; \
	EXPPOLY_AVX512(x, n, p); \
	VSCALEFPS n, p, x

// EXPPOLY_AVX512 is the middle of EXP_AVX512 and EXPFLUSH_AVX512, on a
// clamped x: n = round(x·log2 e), x = r, p = e^r, for the caller's
// VSCALEFPS n, p, x.
#define EXPPOLY_AVX512(x, n, p) \
	VMULPS Z18, x, n; \
	VRNDSCALEPS $0, n, n; \
	VFNMADD231PS Z19, n, x; \
	VFNMADD231PS Z20, n, x; \
	VMOVAPS Z21, p; \
	VFMADD213PS Z22, x, p; \
	VFMADD213PS Z23, x, p; \
	VFMADD213PS Z24, x, p; \
	VFMADD213PS Z25, x, p; \
	VFMADD213PS Z26, x, p; \
	VFMADD213PS Z27, x, p; \
	VFMADD213PS Z27, x, p

// EXPFLUSHCONST_AVX512 is EXPCONST_AVX512 for EXPFLUSH_AVX512: Z16 holds
// its lower bound instead of EXP_AVX512's clamp.
#define EXPFLUSHCONST_AVX512 \
	EXPCONST_AVX512; \
	VBROADCASTSS expc<>+608(SB), Z16

// EXPFLUSH_AVX512 is EXP_AVX512 for softmax and attention, where results
// below 2^-126 do not matter: lanes below -87.3 (every result that would be
// subnormal, and the few just above 2^-126) are 0, as EXPFAST_AVX2's are.
// On Intel cores a subnormal result costs its vector a microcode assist,
// and sharp attention rows (logits spread over more than ~87) make many.
// The low lanes are set to 0 before the polynomial (so no step sees them)
// and zeroed by the final VSCALEFPS; a NaN lane compares unordered, stays
// set and stays NaN. Every other lane gets EXP_AVX512's bits. Needs
// EXPFLUSHCONST_AVX512; clobbers K7.
#define EXPFLUSH_AVX512(x, n, u, p) \
	VCMPPS $5, Z16, x, K7; \
	VMOVAPS.Z x, K7, x; \
	VMINPS x, Z17, x; \
	EXPPOLY_AVX512(x, n, p); \
	VSCALEFPS.Z n, p, K7, x
