//go:build gc && !purego

#include "exp_arm64.h"

// geluc<>: V8 1/√2, V9 p, V10-V14 p1-p5 (Abramowitz-Stegun 7.1.26), V15 the
// sign mask, V29 0.5, V30 -2·√(2/π), V31 0.044715 (see gelu_amd64.s).
#define GSPLAT4(off, v) DATA geluc<>+off+0(SB)/4, $v; DATA geluc<>+off+4(SB)/4, $v; DATA geluc<>+off+8(SB)/4, $v; DATA geluc<>+off+12(SB)/4, $v

GSPLAT4(0, 0x3f3504f3)
GSPLAT4(16, 0x3ea7ba05)
GSPLAT4(32, 0x3e827906)
GSPLAT4(48, 0xbe91a98e)
GSPLAT4(64, 0x3fb5f0e3)
GSPLAT4(80, 0xbfba00e3)
GSPLAT4(96, 0x3f87dc22)
GSPLAT4(112, 0x80000000)
GSPLAT4(128, 0x3f000000)
GSPLAT4(144, 0xbfcc422a)
GSPLAT4(160, 0x3d372713)
GLOBL geluc<>(SB), RODATA|NOPTR, $176

#define GELUCONST_NEON \
	MOVD   $geluc<>(SB), R3; \
	VLD1.P 64(R3), [V8.S4, V9.S4, V10.S4, V11.S4]; \
	VLD1.P 64(R3), [V12.S4, V13.S4, V14.S4, V15.S4]; \
	VLD1   (R3), [V29.S4, V30.S4, V31.S4]

// GELU_NEON sets V0 = GELU(V0) as PyTorch computes it (see GELU_AVX2);
// V1-V7 are scratch.
#define GELU_NEON \
	FMUL4(1, 0, 8); \
	FABS4(2, 1); \
	VMOV16(3, 27); \
	FMLA4(3, 2, 9); \
	FDIV4(3, 27, 3); \
	VMOV16(4, 13); \
	FMLA4(4, 14, 3); \
	VMOV16(6, 12); \
	FMLA4(6, 4, 3); \
	VMOV16(4, 11); \
	FMLA4(4, 6, 3); \
	VMOV16(6, 10); \
	FMLA4(6, 4, 3); \
	FMUL4(5, 1, 1); \
	FNEG4(5, 5); \
	EXP_NEON(5, 2, 4, 7); \
	FMUL4(5, 5, 3); \
	VMOV16(2, 27); \
	FMLS4(2, 6, 5); \
	AND16(4, 1, 15); \
	EOR16(2, 2, 4); \
	FADD4(2, 2, 27); \
	FMUL4(0, 0, 29); \
	FMUL4(0, 0, 2)

// GELUTANH_NEON sets V0 = x/(1 + e^(-2u)), u = √(2/π)·(x + 0.044715·x³);
// V1-V5 are scratch.
#define GELUTANH_NEON \
	FMUL4(1, 0, 0); \
	FMUL4(1, 1, 0); \
	VMOV16(2, 0); \
	FMLA4(2, 1, 31); \
	FMUL4(2, 2, 30); \
	EXP_NEON(2, 3, 4, 5); \
	FADD4(2, 2, 27); \
	FDIV4(0, 0, 2)

// MAP_NEON(op, saved, savedn) runs dst = op(src) over whole vectors, then
// over the last four elements, read into V<savedn> before any store.
#define MAP_NEON(op, saved, savedn) \
	MOVD dst_base+0(FP), R0; \
	MOVD src_base+24(FP), R1; \
	MOVD src_len+32(FP), R2; \
	EXPCONST_NEON; \
	GELUCONST_NEON; \
	SUB  $4, R2, R4; \
	ADD  R4<<2, R1, R5; \
	ADD  R4<<2, R0, R6; \
	VLD1 (R5), [saved.S4]; \
	LSR  $2, R2, R7; \
loop: \
	CBZ R7, last; \
	VLD1.P 16(R1), [V0.S4]; \
	op; \
	VST1.P [V0.S4], 16(R0); \
	SUB $1, R7, R7; \
	B loop; \
last: \
	VMOV16(0, savedn); \
	op; \
	VST1 [V0.S4], (R6); \
	RET

// func geluNEON(dst, src []float32)
TEXT ·geluNEON(SB), NOSPLIT, $0-48
	MAP_NEON(GELU_NEON, V30, 30)

// func geluTanhNEON(dst, src []float32)
TEXT ·geluTanhNEON(SB), NOSPLIT, $0-48
	MAP_NEON(GELUTANH_NEON, V7, 7)
