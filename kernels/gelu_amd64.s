//go:build gc && !purego

#include "exp_amd64.h"

// geluc<>: the constants of GELU, each splatted 8 times like expc<>.
#define GSPLAT(off, v) DATA geluc<>+off+0(SB)/4, $v; DATA geluc<>+off+4(SB)/4, $v; DATA geluc<>+off+8(SB)/4, $v; DATA geluc<>+off+12(SB)/4, $v; DATA geluc<>+off+16(SB)/4, $v; DATA geluc<>+off+20(SB)/4, $v; DATA geluc<>+off+24(SB)/4, $v; DATA geluc<>+off+28(SB)/4, $v

GSPLAT(0, 0x3f3504f3)   // 1/√2
GSPLAT(32, 0x3ea7ba05)  // p = 0.3275911 (Abramowitz-Stegun 7.1.26)
GSPLAT(64, 0x3e827906)  // p1 = 0.254829592
GSPLAT(96, 0xbe91a98e)  // p2 = -0.284496736
GSPLAT(128, 0x3fb5f0e3) // p3 = 1.421413741
GSPLAT(160, 0xbfba00e3) // p4 = -1.453152027
GSPLAT(192, 0x3f87dc22) // p5 = 1.061405429
GSPLAT(224, 0x7fffffff) // |·| mask
GSPLAT(256, 0x80000000) // sign mask
GSPLAT(288, 0x3f000000) // 0.5
GSPLAT(320, 0xbfcc422a) // -2·√(2/π)
GSPLAT(352, 0x3d372713) // 0.044715
GSPLAT(384, 0xc1a00000) // -20: the lowest exponent GELU_AVX512 passes to e^x
GLOBL geluc<>(SB), RODATA|NOPTR, $416

// GELU_AVX2 sets Y0 = GELU(Y0) as PyTorch computes it: z = x/√2,
// t = 1/(1 + p|z|), erf(z) = sign(z)·(1 - t·P(t)·e^(-z²)),
// GELU = (x/2)·(1 + erf(z)). Y1-Y7, Y9 are scratch; Y10-Y13 hold 1, the
// sign mask, the |·| mask and 0.5 (GELUCONST_AVX2).
#define GELU_AVX2 \
	VMULPS       geluc<>+0(SB), Y0, Y1; \
	VANDPS       Y12, Y1, Y2; \
	VMOVAPS      Y10, Y3; \
	VFMADD231PS  geluc<>+32(SB), Y2, Y3; \
	VDIVPS       Y3, Y10, Y3; \
	VMOVUPS      geluc<>+192(SB), Y4; \
	VFMADD213PS  geluc<>+160(SB), Y3, Y4; \
	VFMADD213PS  geluc<>+128(SB), Y3, Y4; \
	VFMADD213PS  geluc<>+96(SB), Y3, Y4; \
	VFMADD213PS  geluc<>+64(SB), Y3, Y4; \
	VMULPS       Y1, Y1, Y5; \
	VXORPS       Y11, Y5, Y5; \
	EXPFAST_AVX2(Y5, Y6, Y7, Y2, Y9); \
	VMULPS       Y3, Y5, Y5; \
	VFNMADD213PS Y10, Y4, Y5; \
	VANDPS       Y11, Y1, Y6; \
	VXORPS       Y6, Y5, Y5; \
	VADDPS       Y10, Y5, Y5; \
	VMULPS       Y13, Y0, Y0; \
	VMULPS       Y5, Y0, Y0

// GELUTANH_AVX2 sets Y0 = x/(1 + e^(-2u)), u = √(2/π)·(x + 0.044715·x³),
// which equals x/2·(1 + tanh u). Y1-Y4 are scratch.
#define GELUTANH_AVX2 \
	VMULPS      Y0, Y0, Y1; \
	VMULPS      Y0, Y1, Y1; \
	VMOVUPS     geluc<>+352(SB), Y2; \
	VFMADD213PS Y0, Y2, Y1; \
	VMULPS      geluc<>+320(SB), Y1, Y1; \
	EXPFAST_AVX2(Y1, Y2, Y3, Y4, Y5); \
	VADDPS      expc<>+352(SB), Y1, Y1; \
	VDIVPS      Y1, Y0, Y0

// GELUCONST_AVX2 loads the constants GELU_AVX2 keeps in registers.
#define GELUCONST_AVX2 \
	VMOVUPS expc<>+352(SB), Y10; \
	VMOVUPS geluc<>+256(SB), Y11; \
	VMOVUPS geluc<>+224(SB), Y12; \
	VMOVUPS geluc<>+288(SB), Y13

// ROW_AVX2(op) runs op over CX floats from SI to DI (which may be SI), 8
// lanes at a time and a masked tail, and ends at label rowdone; clobbers
// AX, R8 (TAILMASK_AVX2).
#define ROW_AVX2(op) \
loop: \
	CMPQ CX, $8; \
	JB tail; \
	VMOVUPS (SI), Y0; \
	op; \
	VMOVUPS Y0, (DI); \
	ADDQ $32, SI; \
	ADDQ $32, DI; \
	SUBQ $8, CX; \
	JMP loop; \
tail: \
	TESTQ CX, CX; \
	JZ rowdone; \
	TAILMASK_AVX2(Y8); \
	VMASKMOVPS (SI), Y8, Y0; \
	op; \
	VMASKMOVPS Y0, Y8, (DI); \
rowdone:

// ELEMENTWISE_AVX2(op) runs op over dst = op(src), 8 lanes at a time and a
// masked tail.
#define ELEMENTWISE_AVX2(op) \
	MOVQ dst_base+0(FP), DI; \
	MOVQ src_base+24(FP), SI; \
	MOVQ src_len+32(FP), CX; \
	EXPFASTCONST_AVX2; \
	GELUCONST_AVX2; \
	ROW_AVX2(op); \
	VZEROUPPER; \
	RET

// func geluAVX2(dst, src []float32)
TEXT ·geluAVX2(SB), NOSPLIT, $0-48
	ELEMENTWISE_AVX2(GELU_AVX2)

// func geluTanhAVX2(dst, src []float32)
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-48
	ELEMENTWISE_AVX2(GELUTANH_AVX2)

// GELUCONST_AVX512 broadcasts the GELU constants: Z8 1/√2, Z9 p, Z10-Z14
// p1-p5, Z15 |·| mask, Z29 sign mask, Z30 0.5, Z31 -2·√(2/π), Z7 0.044715
// (Z27 is 1 from EXPCONST_AVX512).
#define GELUCONST_AVX512 \
	VBROADCASTSS geluc<>+0(SB), Z8; \
	VBROADCASTSS geluc<>+32(SB), Z9; \
	VBROADCASTSS geluc<>+64(SB), Z10; \
	VBROADCASTSS geluc<>+96(SB), Z11; \
	VBROADCASTSS geluc<>+128(SB), Z12; \
	VBROADCASTSS geluc<>+160(SB), Z13; \
	VBROADCASTSS geluc<>+192(SB), Z14; \
	VBROADCASTSS geluc<>+224(SB), Z15; \
	VBROADCASTSS geluc<>+256(SB), Z29; \
	VBROADCASTSS geluc<>+288(SB), Z30; \
	VBROADCASTSS geluc<>+320(SB), Z31; \
	VBROADCASTSS geluc<>+352(SB), Z7

// GELU_AVX512 is GELU_AVX2 on Z0; Z1-Z7 are scratch (Z7 holds 0.044715,
// which only GELUTANH_AVX512 reads).
//
// Both raise the exponent they pass to EXP_AVX512 to at least -20. EXP_AVX512
// is exact down to subnormal results (VSCALEFPS), and a subnormal operand or
// result costs a microcode assist of the whole vector: |x| above ~13 made
// GELU 15× slower (6.8 against 0.4 ns/element for N(0, 12²) inputs). The
// clamp changes no result: below e^-20 ≈ 2·10⁻⁹, 1 - t·P(t)·e rounds to 1
// (t·P(t) < 0.3, half an ulp below 1 is 2^-25 ≈ 3·10⁻⁸) and 1 + e rounds
// to 1 (half an ulp above 1 is 2^-24), with the true e or with e^-20.
#define GELU_AVX512 \
	VMULPS       Z8, Z0, Z1; \
	VANDPS       Z15, Z1, Z2; \
	VMOVAPS      Z27, Z3; \
	VFMADD231PS  Z9, Z2, Z3; \
	VDIVPS       Z3, Z27, Z3; \
	VMOVAPS      Z14, Z4; \
	VFMADD213PS  Z13, Z3, Z4; \
	VFMADD213PS  Z12, Z3, Z4; \
	VFMADD213PS  Z11, Z3, Z4; \
	VFMADD213PS  Z10, Z3, Z4; \
	VMULPS       Z1, Z1, Z5; \
	VXORPS       Z29, Z5, Z5; \
	VMAXPS.BCST  geluc<>+384(SB), Z5, Z5; \
	EXP_AVX512(Z5, Z6, Z2, Z7); \
	VMULPS       Z3, Z5, Z5; \
	VFNMADD213PS Z27, Z4, Z5; \
	VANDPS       Z29, Z1, Z6; \
	VXORPS       Z6, Z5, Z5; \
	VADDPS       Z27, Z5, Z5; \
	VMULPS       Z30, Z0, Z0; \
	VMULPS       Z5, Z0, Z0

// GELUTANH_AVX512 is GELUTANH_AVX2 on Z0; Z1-Z4 are scratch.
#define GELUTANH_AVX512 \
	VMULPS      Z0, Z0, Z1; \
	VMULPS      Z0, Z1, Z1; \
	VFMADD213PS Z0, Z7, Z1; \
	VMULPS      Z31, Z1, Z1; \
	VMAXPS.BCST geluc<>+384(SB), Z1, Z1; \
	EXP_AVX512(Z1, Z2, Z3, Z4); \
	VADDPS      Z27, Z1, Z1; \
	VDIVPS      Z1, Z0, Z0

// ROW_AVX512(op) runs op over CX floats from SI to DI (which may be SI),
// 16 lanes at a time and a tail under mask K1, and ends at label rowdone;
// clobbers AX (TAILMASK_AVX512).
#define ROW_AVX512(op) \
loop: \
	CMPQ CX, $16; \
	JB tail; \
	VMOVUPS (SI), Z0; \
	op; \
	VMOVUPS Z0, (DI); \
	ADDQ $64, SI; \
	ADDQ $64, DI; \
	SUBQ $16, CX; \
	JMP loop; \
tail: \
	TESTQ CX, CX; \
	JZ rowdone; \
	TAILMASK_AVX512; \
	VMOVUPS.Z (SI), K1, Z0; \
	op; \
	VMOVUPS Z0, K1, (DI); \
rowdone:

// ELEMENTWISE_AVX512(op) runs op over dst = op(src), 16 lanes at a time and
// a tail under mask K1.
#define ELEMENTWISE_AVX512(op) \
	MOVQ dst_base+0(FP), DI; \
	MOVQ src_base+24(FP), SI; \
	MOVQ src_len+32(FP), CX; \
	EXPCONST_AVX512; \
	GELUCONST_AVX512; \
	ROW_AVX512(op); \
	VZEROUPPER; \
	RET

// func geluAVX512(dst, src []float32)
TEXT ·geluAVX512(SB), NOSPLIT, $0-48
	ELEMENTWISE_AVX512(GELU_AVX512)

// func geluTanhAVX512(dst, src []float32)
TEXT ·geluTanhAVX512(SB), NOSPLIT, $0-48
	ELEMENTWISE_AVX512(GELUTANH_AVX512)

// TILE_AVX512(op) runs op in place over R9 rows × R10 floats at DI, rows
// R11 floats apart, a row at a time (ROW_AVX512). The GEMM calls it on a
// tile it has just stored, while the tile is in L1.
#define TILE_AVX512(op) \
	SHLQ $2, R11; \
	TESTQ R9, R9; \
	JLE done; \
	MOVQ DI, R12; \
	EXPCONST_AVX512; \
	GELUCONST_AVX512; \
row: \
	MOVQ R12, SI; \
	MOVQ R12, DI; \
	MOVQ R10, CX; \
	ROW_AVX512(op); \
	ADDQ R11, R12; \
	DECQ R9; \
	JNZ row; \
done: \
	VZEROUPPER; \
	RET

// func geluTileAVX512(c *float32, ldc, rows, cols int)
TEXT ·geluTileAVX512(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R11
	MOVQ rows+16(FP), R9
	MOVQ cols+24(FP), R10
	TILE_AVX512(GELU_AVX512)

// func geluTanhTileAVX512(c *float32, ldc, rows, cols int)
TEXT ·geluTanhTileAVX512(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R11
	MOVQ rows+16(FP), R9
	MOVQ cols+24(FP), R10
	TILE_AVX512(GELUTANH_AVX512)

// TILE_AVX2(op) is TILE_AVX512 with AVX2 (ROW_AVX2).
#define TILE_AVX2(op) \
	SHLQ $2, R11; \
	TESTQ R9, R9; \
	JLE done; \
	MOVQ DI, R12; \
	EXPFASTCONST_AVX2; \
	GELUCONST_AVX2; \
row: \
	MOVQ R12, SI; \
	MOVQ R12, DI; \
	MOVQ R10, CX; \
	ROW_AVX2(op); \
	ADDQ R11, R12; \
	DECQ R9; \
	JNZ row; \
done: \
	VZEROUPPER; \
	RET

// func geluTileAVX2(c *float32, ldc, rows, cols int)
TEXT ·geluTileAVX2(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R11
	MOVQ rows+16(FP), R9
	MOVQ cols+24(FP), R10
	TILE_AVX2(GELU_AVX2)

// func geluTanhTileAVX2(c *float32, ldc, rows, cols int)
TEXT ·geluTanhTileAVX2(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R11
	MOVQ rows+16(FP), R9
	MOVQ cols+24(FP), R10
	TILE_AVX2(GELUTANH_AVX2)
