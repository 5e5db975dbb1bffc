//go:build gc && !purego

#include "exp_arm64.h"

// Registers: R0 dst, R1 src, R2 n (≥ 4), R4 bias (or zeros) with step R5
// (0 without a bias); V29 scale, V30 shift, V31 -Inf, V16-V28 exp
// constants.

// BIAS_NEON(base, len) sets R4, R5.
#define BIAS_NEON(base, len) \
	MOVD base, R4; \
	MOVD len, R3; \
	MOVD $expc<>+EXPC_ZERO(SB), R6; \
	MOVD $16, R5; \
	CMP  $0, R3; \
	CSEL EQ, R6, R4, R4; \
	CSEL EQ, ZR, R5, R5

// LASTPTRS: R3 = n-4, R7 = n/4, R8 = &src[n-4], R9 = &bias[n-4] (or the
// zeros), R10 = &dst[n-4].
#define LASTPTRS \
	LSR  $2, R2, R7; \
	SUB  $4, R2, R3; \
	ADD  R3<<2, R1, R8; \
	ADD  R3<<2, R0, R10; \
	LSL  $2, R3, R9; \
	CMP  $0, R5; \
	CSEL EQ, ZR, R9, R9; \
	ADD  R4, R9, R9

// MAX_NEON: S4 = max of scale·src + bias (NaN if any is NaN).
#define MAX_NEON \
	LASTPTRS; \
	VMOV16(4, 31); \
maxloop: \
	CBZ R7, maxlast; \
	VLD1.P 16(R1), [V0.S4]; \
	VLD1 (R4), [V1.S4]; \
	ADD R5, R4, R4; \
	FMLA4(1, 0, 29); \
	FMAX4(4, 4, 1); \
	SUB $1, R7, R7; \
	B maxloop; \
maxlast: \
	VLD1 (R8), [V0.S4]; \
	VLD1 (R9), [V1.S4]; \
	FMLA4(1, 0, 29); \
	FMAX4(4, 4, 1); \
	FMAXV4(4, 4)

// EXPSUM_NEON: dst = e^(scale·src + bias - shift), S5 = its sum.
#define EXPSUM_NEON \
	LASTPTRS; \
	VLD1 (R8), [V9.S4]; \
	VLD1 (R9), [V10.S4]; \
	AND $3, R2, R11; \
	MOVD $expc<>+EXPC_TAILMASK(SB), R12; \
	ADD R11<<2, R12, R12; \
	VLD1 (R12), [V11.S4]; \
	EOR16(5, 5, 5); \
exploop: \
	CBZ R7, explast; \
	VLD1.P 16(R1), [V0.S4]; \
	VLD1 (R4), [V1.S4]; \
	ADD R5, R4, R4; \
	FMLA4(1, 0, 29); \
	FSUB4(1, 1, 30); \
	EXP_NEON(1, 2, 3, 6); \
	VST1.P [V1.S4], 16(R0); \
	FADD4(5, 5, 1); \
	SUB $1, R7, R7; \
	B exploop; \
explast: \
	FMLA4(10, 9, 29); \
	FSUB4(10, 10, 30); \
	EXP_NEON(10, 2, 3, 6); \
	VST1 [V10.S4], (R10); \
	AND16(10, 10, 11); \
	FADD4(5, 5, 10); \
	HSUM4(5, 5)

// SCALE_NEON: dst *= V7.
#define SCALE_NEON \
	LSR  $2, R2, R7; \
	SUB  $4, R2, R3; \
	ADD  R3<<2, R0, R10; \
	VLD1 (R10), [V9.S4]; \
scaleloop: \
	CBZ R7, scalelast; \
	VLD1 (R0), [V0.S4]; \
	FMUL4(0, 0, 7); \
	VST1.P [V0.S4], 16(R0); \
	SUB $1, R7, R7; \
	B scaleloop; \
scalelast: \
	FMUL4(9, 9, 7); \
	VST1 [V9.S4], (R10)

// func softmaxRowNEON(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32
TEXT ·softmaxRowNEON(SB), NOSPLIT, $0-100
	EXPCONST_NEON
	FMOVS scale+72(FP), F29
	VDUP  V29.S[0], V29.S4
	MOVD  $expc<>+EXPC_NEGINF(SB), R3
	VLD1  (R3), [V31.S4]
	BIAS_NEON(bias_base+48(FP), bias_len+56(FP))
	MOVD  R4, R13
	MOVD  dst_base+0(FP), R0
	MOVD  src_base+24(FP), R1
	MOVD  src_len+32(FP), R2

	// Pass 1: the maximum; a row with no finite entry stops here.
	MAX_NEON
	FMOVS F4, ret+96(FP)
	FMOVS F31, F6
	FCMPS F6, F4
	BEQ   done

	// Pass 2: exponentials and their sum.
	VDUP V4.S[0], V30.S4
	MOVD src_base+24(FP), R1
	MOVD R13, R4
	EXPSUM_NEON

	// Pass 3: times 1/sum.
	FMOVS F27, F7
	FDIVS F5, F7, F7
	VDUP  V7.S[0], V7.S4
	MOVD  dst_base+0(FP), R0
	SCALE_NEON

done:
	RET

// func softmaxMaxNEON(src, bias []float32, scale float32) float32
TEXT ·softmaxMaxNEON(SB), NOSPLIT, $0-60
	FMOVS scale+48(FP), F29
	VDUP  V29.S[0], V29.S4
	MOVD  $expc<>+EXPC_NEGINF(SB), R3
	VLD1  (R3), [V31.S4]
	BIAS_NEON(bias_base+24(FP), bias_len+32(FP))
	MOVD  src_base+0(FP), R1
	MOVD  R1, R0
	MOVD  src_len+8(FP), R2
	MAX_NEON
	FMOVS F4, ret+56(FP)
	RET

// func softmaxExpNEON(dst, src, bias []float32, scale, shift float32) float32
TEXT ·softmaxExpNEON(SB), NOSPLIT, $0-84
	EXPCONST_NEON
	FMOVS scale+72(FP), F29
	VDUP  V29.S[0], V29.S4
	FMOVS shift+76(FP), F30
	VDUP  V30.S[0], V30.S4
	BIAS_NEON(bias_base+48(FP), bias_len+56(FP))
	MOVD  dst_base+0(FP), R0
	MOVD  src_base+24(FP), R1
	MOVD  src_len+32(FP), R2
	EXPSUM_NEON
	FMOVS F5, ret+80(FP)
	RET
