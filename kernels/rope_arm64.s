//go:build gc && !purego

#include "textflag.h"

// ropeSign flips the sign of the even lanes: rot(x) = [-x1 x0 -x3 x2].
DATA ropeSign<>+0(SB)/4, $0x80000000
DATA ropeSign<>+4(SB)/4, $0
DATA ropeSign<>+8(SB)/4, $0x80000000
DATA ropeSign<>+12(SB)/4, $0
GLOBL ropeSign<>(SB), RODATA|NOPTR, $16

// func ropeRotateNEON(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
//
// For each token, each head, over the row: out = x·cos + rot(x)·sin, with
// rot(x) = VREV64 (swap each pair) then the sign flip of the even lanes.
TEXT ·ropeRotateNEON(SB), NOSPLIT, $0-104
	MOVD x_base+0(FP), R0
	MOVD ld+24(FP), R13
	LSL  $2, R13, R13 // the row stride of x in bytes
	MOVD sin_base+32(FP), R1
	MOVD cos_base+56(FP), R2
	MOVD tokens+80(FP), R3
	MOVD heads+88(FP), R4
	MOVD headDim+96(FP), R5
	MOVD R0, R12 // the current token's row
	MOVD $ropeSign<>(SB), R6
	VLD1 (R6), [V31.S4]
	LSL  $2, R5, R7 // the sin/cos row stride in bytes

token:
	CBZ  R3, done
	MOVD R12, R0
	MOVD R4, R8

head:
	MOVD R1, R9
	MOVD R2, R10
	MOVD R5, R11

pairs4:
	// Four values: two rotated pairs.
	CMP    $4, R11
	BLT    tail
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R9), [V1.S4]
	VLD1.P 16(R10), [V2.S4]
	VREV64 V0.S4, V3.S4
	VEOR   V31.B16, V3.B16, V3.B16
	VEOR   V4.B16, V4.B16, V4.B16
	VFMLA  V0.S4, V2.S4, V4.S4
	VFMLA  V3.S4, V1.S4, V4.S4
	VST1.P [V4.S4], 16(R0)
	SUB    $4, R11
	B      pairs4

tail:
	// headDim is even: at most one pair is left, done on two lanes.
	CBZ    R11, nexthead
	VLD1   (R0), [V0.S2]
	VLD1   (R9), [V1.S2]
	VLD1   (R10), [V2.S2]
	VREV64 V0.S2, V3.S2
	VEOR   V31.B8, V3.B8, V3.B8
	VEOR   V4.B8, V4.B8, V4.B8
	VFMLA  V0.S2, V2.S2, V4.S2
	VFMLA  V3.S2, V1.S2, V4.S2
	VST1.P [V4.S2], 8(R0)

nexthead:
	SUBS $1, R8, R8
	BNE  head
	ADD  R13, R12
	ADD  R7, R1
	ADD  R7, R2
	SUB  $1, R3
	B    token

done:
	RET
