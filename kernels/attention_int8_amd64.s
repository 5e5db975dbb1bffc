//go:build gc && !purego

#include "textflag.h"
#include "reduce_amd64.h"

// The int8 attention's quantization of rows (attention_int8.go), on
// AVX-512: whole vectors of 16 floats, the last one under a mask (K1).

DATA i8c<>+0(SB)/4, $0x7fffffff // |x|
GLOBL i8c<>(SB), RODATA|NOPTR, $4

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

// I8SCALEINV, in qSymRowAVX512 and qSymRowAVX2 once X1 holds max|v|:
// scale = max/lim into the result, X5 = lim/max (0 for an all-zero row).
// Clobbers AX, X3, X4.
#define I8SCALEINV \
	VMOVSS lim+40(FP), X3; \
	VDIVSS X3, X1, X4; \
	VMOVSS X4, scale+56(FP); \
	VXORPS X5, X5, X5; \
	VMOVD X1, AX; \
	TESTL AX, AX; \
	JZ 2(PC); \
	VDIVSS X1, X3, X5

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

// func qSymRowAVX512(dst *uint8, src *float32, sub *float32, n int, add int, lim float32, pf *float32) (scale float32, sum int32, fsum float32)
TEXT ·qSymRowAVX512(SB), NOSPLIT, $0-68
	MOVQ src+8(FP), SI
	MOVQ sub+16(FP), R8
	MOVQ n+24(FP), DX
	MOVQ pf+48(FP), R10
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
	VMOVSS X6, fsum+64(FP)
	I8SCALEINV
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
	MOVL AX, sum+60(FP)
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

// ---- AVX2: vectors of 8 floats, the tail's loads under a mask (Y9),
// its bytes stored one by one.

DATA i8tail<>+0(SB)/8, $0xffffffffffffffff
DATA i8tail<>+8(SB)/8, $0xffffffffffffffff
DATA i8tail<>+16(SB)/8, $0xffffffffffffffff
DATA i8tail<>+24(SB)/8, $0xffffffffffffffff
DATA i8tail<>+32(SB)/8, $0
DATA i8tail<>+40(SB)/8, $0
DATA i8tail<>+48(SB)/8, $0
DATA i8tail<>+56(SB)/8, $0
DATA i8tail<>+64(SB)/8, $0x00ff00ff00ff00ff // the low byte of each word
DATA i8tail<>+72(SB)/8, $0x00ff00ff00ff00ff
GLOBL i8tail<>(SB), RODATA|NOPTR, $80

// I8MASK2 sets Y9 to the first CX (1..7) lanes; clobbers AX, BX.
#define I8MASK2 \
	MOVQ CX, AX; \
	NEGQ AX; \
	LEAQ i8tail<>+32(SB), BX; \
	VMOVUPS (BX)(AX*4), Y9

// I8LOAD2(load) sets Y0 to x at SI less sub at R8 (nil: none), 8·R9
// floats in, each read by load (VMOVUPS, or the tail's VMASKMOVPS under
// Y9); clobbers Y2.
#define I8LOAD2_FULL \
	VMOVUPS (SI)(R9*4), Y0; \
	TESTQ R8, R8; \
	JZ 3(PC); \
	VMOVUPS (R8)(R9*4), Y2; \
	VSUBPS Y2, Y0, Y0

#define I8LOAD2_TAIL \
	VMASKMOVPS (SI)(R9*4), Y9, Y0; \
	TESTQ R8, R8; \
	JZ 3(PC); \
	VMASKMOVPS (R8)(R9*4), Y9, Y2; \
	VSUBPS Y2, Y0, Y0

// I8BYTES2 packs the eight int32 of Y0 into their low bytes in X0's low
// quadword; clobbers X2.
#define I8BYTES2 \
	VEXTRACTI128 $1, Y0, X2; \
	VPACKSSDW X2, X0, X0; \
	VPAND i8tail<>+64(SB), X0, X0; \
	VPACKUSWB X0, X0, X0

// I8STORETAIL stores the low CX bytes of X0 at DI one by one; clobbers
// AX, CX, DI.
#define I8STORETAIL \
	VMOVQ X0, AX; \
	MOVB AX, (DI); \
	SHRQ $8, AX; \
	INCQ DI; \
	DECQ CX; \
	JNZ -4(PC)

// func qSymRowAVX2(dst *uint8, src *float32, sub *float32, n int, add int, lim float32, pf *float32) (scale float32, sum int32, fsum float32)
TEXT ·qSymRowAVX2(SB), NOSPLIT, $0-68
	MOVQ src+8(FP), SI
	MOVQ sub+16(FP), R8
	MOVQ n+24(FP), DX
	MOVQ pf+48(FP), R10
	I8PF
	VBROADCASTSS i8c<>+0(SB), Y7
	VXORPS Y1, Y1, Y1 // max |x - sub|
	VXORPS Y6, Y6, Y6 // Σ 0·(x - sub)
	VXORPS Y8, Y8, Y8
	XORQ R9, R9
	MOVQ DX, CX
	ANDQ $7, CX
	JZ q2nomask
	I8MASK2
q2nomask:
q2max:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE q2maxdone
	CMPQ CX, $8
	JB q2maxtail
	I8LOAD2_FULL
	JMP q2maxacc
q2maxtail:
	I8LOAD2_TAIL
q2maxacc:
	VFMADD231PS Y8, Y0, Y6
	VANDPS Y7, Y0, Y0
	VMAXPS Y0, Y1, Y1
	ADDQ $8, R9
	JMP q2max
q2maxdone:
	HREDUCE_AVX2(VMAXPS, Y1, X1, X2)
	HREDUCE_AVX2(VADDPS, Y6, X6, X2)
	VMOVSS X6, fsum+64(FP)
	I8SCALEINV
	VBROADCASTSS X5, Y5
	VPBROADCASTD add+32(FP), Y3
	VPXOR Y4, Y4, Y4 // Σ q
	MOVQ dst+0(FP), DI
	XORQ R9, R9
q2quant:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE q2quantdone
	CMPQ CX, $8
	JB q2quanttail
	I8LOAD2_FULL
	VMULPS Y5, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y0, Y4, Y4
	VPADDD Y3, Y0, Y0
	I8BYTES2
	VMOVQ X0, (DI)
	ADDQ $8, DI
	ADDQ $8, R9
	JMP q2quant
q2quanttail:
	I8LOAD2_TAIL
	VMULPS Y5, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y0, Y4, Y4
	VPADDD Y3, Y0, Y0
	I8BYTES2
	I8STORETAIL
q2quantdone:
	HREDUCE_AVX2(VPADDD, Y4, X4, X2)
	VMOVD X4, AX
	MOVL AX, sum+60(FP)
	VZEROUPPER
	RET

// func qScaleRowAVX2(dst *int8, src, inv *float32, n int, pf *float32)
TEXT ·qScaleRowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ inv+16(FP), R8
	MOVQ n+24(FP), DX
	MOVQ pf+32(FP), R10
	I8PF
	MOVQ DX, CX
	ANDQ $7, CX
	JZ q2snomask
	I8MASK2
q2snomask:
	XORQ R9, R9
q2sloop:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE q2sdone
	CMPQ CX, $8
	JB q2stail
	VMOVUPS (SI)(R9*4), Y0
	VMULPS (R8)(R9*4), Y0, Y0
	VCVTPS2DQ Y0, Y0
	I8BYTES2
	VMOVQ X0, (DI)
	ADDQ $8, DI
	ADDQ $8, R9
	JMP q2sloop
q2stail:
	VMASKMOVPS (SI)(R9*4), Y9, Y0
	VMASKMOVPS (R8)(R9*4), Y9, Y1
	VMULPS Y1, Y0, Y0
	VCVTPS2DQ Y0, Y0
	I8BYTES2
	I8STORETAIL
q2sdone:
	VZEROUPPER
	RET

// func absMaxSumAVX2(m, sum, src *float32, n int, pf *float32)
TEXT ·absMaxSumAVX2(SB), NOSPLIT, $0-40
	MOVQ pf+32(FP), R10
	MOVQ n+24(FP), DX
	I8PF
	MOVQ m+0(FP), DI
	MOVQ sum+8(FP), R10
	MOVQ src+16(FP), SI
	VBROADCASTSS i8c<>+0(SB), Y7
	MOVQ DX, CX
	ANDQ $7, CX
	JZ am2nomask
	I8MASK2
am2nomask:
	XORQ R9, R9
am2loop:
	MOVQ DX, CX
	SUBQ R9, CX
	JLE am2done
	CMPQ CX, $8
	JB am2tail
	VMOVUPS (SI)(R9*4), Y0
	VADDPS (R10)(R9*4), Y0, Y2
	VMOVUPS Y2, (R10)(R9*4)
	VANDPS Y7, Y0, Y0
	VMAXPS (DI)(R9*4), Y0, Y1
	VMOVUPS Y1, (DI)(R9*4)
	ADDQ $8, R9
	JMP am2loop
am2tail:
	VMASKMOVPS (SI)(R9*4), Y9, Y0
	VMASKMOVPS (R10)(R9*4), Y9, Y2
	VADDPS Y0, Y2, Y2
	VMASKMOVPS Y2, Y9, (R10)(R9*4)
	VMASKMOVPS (DI)(R9*4), Y9, Y1
	VANDPS Y7, Y0, Y0
	VMAXPS Y0, Y1, Y1
	VMASKMOVPS Y1, Y9, (DI)(R9*4)
am2done:
	VZEROUPPER
	RET
