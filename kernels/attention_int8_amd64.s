//go:build gc && !purego

#include "textflag.h"
#include "reduce_amd64.h"

// The int8 attention's quantization of rows (attention_int8.go), on
// AVX-512: whole vectors of 16 floats, the last one under a mask (K1).

DATA i8c<>+0(SB)/4, $0x7fffffff // |x|
DATA i8c<>+4(SB)/4, $0x42fe0000 // 127
GLOBL i8c<>(SB), RODATA|NOPTR, $8

// I8MASK sets K1 to the lanes of the vector at CX floats left (16, or the
// 1..15 of the tail); clobbers AX.
// I8PF prefetches the DX floats at R10 (another row, for a later call),
// one line every 16 floats; clobbers R10, CX.
#define I8PF \
	MOVQ DX, CX; \
	ADDQ $15, CX; \
	SHRQ $4, CX; \
	JZ 5(PC); \
	PREFETCHT0 (R10); \
	ADDQ $64, R10; \
	DECQ CX; \
	JNZ -3(PC)

// I8LOAD sets Z0 to the lanes K1 of x at SI less sub at R8 (nil: none),
// 16·R9 floats in; clobbers Z2.
#define I8LOAD \
	VMOVUPS.Z (SI)(R9*4), K1, Z0; \
	TESTQ R8, R8; \
	JZ 3(PC); \
	VMOVUPS.Z (R8)(R9*4), K1, Z2; \
	VSUBPS Z2, Z0, Z0

#define I8MASK \
	MOVL $0xffff, AX; \
	CMPQ CX, $16; \
	JAE 4(PC); \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func qSymRowAVX512(dst *uint8, src *float32, sub *float32, n int, add int, pf *float32) (scale float32, sum int32, fsum float32)
TEXT ·qSymRowAVX512(SB), NOSPLIT, $0-60
	MOVQ src+8(FP), SI
	MOVQ sub+16(FP), R8
	MOVQ n+24(FP), DX
	MOVQ pf+40(FP), R10
	I8PF
	VBROADCASTSS i8c<>+0(SB), Z7
	VXORPS Z1, Z1, Z1 // max |x - sub|
	VXORPS Z6, Z6, Z6 // Σ 0·(x - sub): 0, or NaN when an x is NaN or ±Inf
	VXORPS Z8, Z8, Z8
	XORQ R9, R9
qmax:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE qmaxdone
	I8MASK
	I8LOAD
	VFMADD231PS Z8, Z0, Z6
	VANDPS Z7, Z0, Z0
	VMAXPS Z0, Z1, Z1
	ADDQ $16, R9
	JMP qmax
qmaxdone:
	HREDUCE_AVX512(VMAXPS, Z1, Y1, X1, Y2, X2)
	HREDUCE_AVX512(VADDPS, Z6, Y6, X6, Y2, X2)
	VMOVSS X6, fsum+56(FP)
	// scale = max/127, inv = 127/max (0 for an all-zero row).
	VMOVSS i8c<>+4(SB), X3
	VDIVSS X3, X1, X4
	VMOVSS X4, scale+48(FP)
	VXORPS X5, X5, X5
	VMOVD X1, AX
	TESTL AX, AX
	JZ 2(PC)
	VDIVSS X1, X3, X5
	VBROADCASTSS X5, Z5
	VPBROADCASTD add+32(FP), Z3
	VPXORD Z4, Z4, Z4 // Σ q
	MOVQ dst+0(FP), DI
	XORQ R9, R9
qquant:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE qquantdone
	I8MASK
	I8LOAD
	VMULPS Z5, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z0, Z4, Z4
	VPADDD Z3, Z0, Z0
	VPMOVDB Z0, K1, (DI)(R9*1)
	ADDQ $16, R9
	JMP qquant
qquantdone:
	HREDUCE_AVX512(VPADDD, Z4, Y4, X4, Y2, X2)
	VMOVD X4, AX
	MOVL AX, sum+52(FP)
	VZEROUPPER
	RET

// func qScaleRowAVX512(dst *int8, src, inv *float32, n int, pf *float32)
TEXT ·qScaleRowAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ inv+16(FP), R8
	MOVQ n+24(FP), DX
	MOVQ pf+32(FP), R10
	I8PF
	XORQ R9, R9
qsloop:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE qsdone
	I8MASK
	VMOVUPS.Z (SI)(R9*4), K1, Z0
	VMULPS.Z (R8)(R9*4), Z0, K1, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVDB Z0, K1, (DI)(R9*1)
	ADDQ $16, R9
	JMP qsloop
qsdone:
	VZEROUPPER
	RET

// func absMaxSumAVX512(m, sum, src *float32, n int, pf *float32)
TEXT ·absMaxSumAVX512(SB), NOSPLIT, $0-40
	MOVQ pf+32(FP), R10
	MOVQ n+24(FP), DX
	I8PF
	MOVQ m+0(FP), DI
	MOVQ sum+8(FP), R10
	MOVQ src+16(FP), SI
	VBROADCASTSS i8c<>+0(SB), Z7
	XORQ R9, R9
amloop:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE amdone
	I8MASK
	VMOVUPS.Z (SI)(R9*4), K1, Z0
	VMOVUPS.Z (R10)(R9*4), K1, Z2
	VADDPS Z0, Z2, Z2
	VMOVUPS Z2, K1, (R10)(R9*4)
	VMOVUPS.Z (DI)(R9*4), K1, Z1
	VANDPS Z7, Z0, Z0
	VMAXPS Z0, Z1, Z1
	VMOVUPS Z1, K1, (DI)(R9*4)
	ADDQ $16, R9
	JMP amloop
amdone:
	VZEROUPPER
	RET
