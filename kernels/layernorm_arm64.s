//go:build gc && !purego

#include "exp_arm64.h"

// Registers: R0 dst, R1 src, R2 n (≥ 4), R19 weight (or ones) with step
// R20, R4 bias (or zeros) with step R5, R7 whole vectors left, V11 the mask
// of the last vector's lanes not yet counted, V10 mean0.

// AFFINE_NEON sets R19, R20 and R4, R5 (step 0 for a missing operand).
#define AFFINE_NEON \
	MOVD weight_base+48(FP), R19; \
	MOVD weight_len+56(FP), R3; \
	MOVD $expc<>+EXPC_ONE(SB), R6; \
	MOVD $16, R20; \
	CMP  $0, R3; \
	CSEL EQ, R6, R19, R19; \
	CSEL EQ, ZR, R20, R20; \
	MOVD bias_base+72(FP), R4; \
	MOVD bias_len+80(FP), R3; \
	MOVD $expc<>+EXPC_ZERO(SB), R6; \
	MOVD $16, R5; \
	CMP  $0, R3; \
	CSEL EQ, R6, R4, R4; \
	CSEL EQ, ZR, R5, R5

// func layerNormNEON(dst, src, weight, bias []float32, eps float32, ahead int)
TEXT ·layerNormNEON(SB), NOSPLIT, $0-112
	MOVD src_base+24(FP), R1
	MOVD src_len+32(FP), R2
	SUB  $4, R2, R3
	ADD  R3<<2, R1, R8       // &src[n-4]
	AND  $3, R2, R11
	MOVD $expc<>+EXPC_TAILMASK(SB), R12
	ADD  R11<<2, R12, R12
	VLD1 (R12), [V11.S4]

	// Pass 1: mean0 = Σx/n, the last vector masked.
	LSR $2, R2, R7
	EOR16(4, 4, 4)

sum:
	CBZ    R7, sumlast
	VLD1.P 16(R1), [V0.S4]
	FADD4(4, 4, 0)
	SUB    $1, R7, R7
	B      sum

sumlast:
	VLD1   (R8), [V0.S4]
	AND16(0, 0, 11)
	FADD4(4, 4, 0)
	HSUM4(4, 4)
	SCVTFS R2, F8
	FDIVS  F8, F4, F10
	VDUP   V10.S[0], V10.S4

	// Pass 2: Σd and Σd² of d = x - mean0.
	MOVD src_base+24(FP), R1
	LSR  $2, R2, R7
	EOR16(4, 4, 4)
	EOR16(6, 6, 6)

dev:
	CBZ    R7, devlast
	VLD1.P 16(R1), [V0.S4]
	FSUB4(0, 0, 10)
	FADD4(4, 4, 0)
	FMLA4(6, 0, 0)
	SUB    $1, R7, R7
	B      dev

devlast:
	VLD1 (R8), [V0.S4]
	FSUB4(0, 0, 10)
	AND16(0, 0, 11)
	FADD4(4, 4, 0)
	FMLA4(6, 0, 0)
	HSUM4(4, 4)
	HSUM4(6, 6)

	// rstd = 1/sqrt(max(Σd²/n - (Σd/n)², 0) + eps) in V7 and
	// -(Σd/n)·rstd in V9 (see layernorm_amd64.s: the mean is never formed).
	FDIVS F8, F4, F4
	FDIVS F8, F6, F6
	FMULS F4, F4, F7
	FSUBS F7, F6, F6
	EOR16(7, 7, 7)
	FMAXS F7, F6, F6
	FMOVS eps+96(FP), F7
	FADDS F7, F6, F6
	FSQRTS F6, F6
	FMOVS $1.0, F7
	FDIVS F6, F7, F7
	FMULS F7, F4, F9
	VDUP  V7.S[0], V7.S4
	VDUP  V9.S[0], V9.S4
	FNEG4(9, 9)

	// Pass 3: dst = ((x - mean0)·rstd - (Σd/n)·rstd)·weight + bias, the
	// last vector's inputs read before any store.
	AFFINE_NEON
	MOVD src_base+24(FP), R1
	MOVD dst_base+0(FP), R0
	SUB  $4, R2, R3
	ADD  R3<<2, R0, R10      // &dst[n-4]
	LSL  $2, R3, R21
	CMP  $0, R20
	CSEL EQ, ZR, R21, R22
	ADD  R19, R22, R22       // &weight[n-4]
	CMP  $0, R5
	CSEL EQ, ZR, R21, R23
	ADD  R4, R23, R23        // &bias[n-4]
	VLD1 (R8), [V12.S4]
	VLD1 (R22), [V13.S4]
	VLD1 (R23), [V14.S4]
	LSR  $2, R2, R7

norm:
	CBZ    R7, normlast
	VLD1.P 16(R1), [V0.S4]
	VLD1   (R19), [V2.S4]
	VLD1   (R4), [V3.S4]
	ADD    R20, R19, R19
	ADD    R5, R4, R4
	FSUB4(0, 0, 10)
	VMOV16(1, 9)
	FMLA4(1, 0, 7)
	FMLA4(3, 1, 2)
	VST1.P [V3.S4], 16(R0)
	SUB    $1, R7, R7
	B      norm

normlast:
	FSUB4(12, 12, 10)
	VMOV16(1, 9)
	FMLA4(1, 12, 7)
	FMLA4(14, 1, 13)
	VST1 [V14.S4], (R10)
	RET
