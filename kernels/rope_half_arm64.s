//go:build !purego

#include "textflag.h"

// func ropeRotateHalfNEON(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
//
// For each token, for each head: lo = the head's first headDim/2 values
// (R0), hi = the rest (R14), s and c the token's sin and cos rows;
// lo' = lo·c - hi·s, hi' = hi·c + lo·s.
TEXT ·ropeRotateHalfNEON(SB), NOSPLIT, $0-104
	MOVD x_base+0(FP), R12 // the current token's row
	MOVD ld+24(FP), R13
	LSL  $2, R13, R13      // the row stride of x in bytes
	MOVD sin_base+32(FP), R1
	MOVD cos_base+56(FP), R2
	MOVD tokens+80(FP), R3
	MOVD heads+88(FP), R4
	MOVD headDim+96(FP), R5
	LSR  $1, R5, R5        // half: pairs per head
	LSL  $2, R5, R7        // half in bytes: the sin/cos row stride and lo→hi

token:
	CBZ  R3, done
	MOVD R12, R0
	MOVD R4, R8

head:
	ADD  R7, R0, R14
	MOVD R1, R9
	MOVD R2, R10
	MOVD R5, R11

pairs4:
	CMP    $4, R11
	BLT    tail
	VLD1   (R0), [V0.S4]
	VLD1   (R14), [V1.S4]
	VLD1.P 16(R9), [V2.S4]
	VLD1.P 16(R10), [V3.S4]
	VEOR   V4.B16, V4.B16, V4.B16
	VFMLA  V0.S4, V3.S4, V4.S4 // lo·c
	VFMLS  V1.S4, V2.S4, V4.S4 // - hi·s
	VEOR   V5.B16, V5.B16, V5.B16
	VFMLA  V1.S4, V3.S4, V5.S4 // hi·c
	VFMLA  V0.S4, V2.S4, V5.S4 // + lo·s
	VST1.P [V4.S4], 16(R0)
	VST1.P [V5.S4], 16(R14)
	SUB    $4, R11
	B      pairs4

tail:
	CBZ   R11, nexthead
	FMOVS (R0), F0
	FMOVS (R14), F1
	FMOVS (R9), F2
	FMOVS (R10), F3
	FMULS F3, F0, F4 // lo·c
	FMULS F2, F1, F5 // hi·s
	FSUBS F5, F4, F4
	FMULS F3, F1, F6 // hi·c
	FMULS F2, F0, F7 // lo·s
	FADDS F7, F6, F6
	FMOVS F4, (R0)
	FMOVS F6, (R14)
	ADD   $4, R0
	ADD   $4, R14
	ADD   $4, R9
	ADD   $4, R10
	SUB   $1, R11
	B     tail

nexthead:
	MOVD R14, R0 // the end of hi is the next head
	SUBS $1, R8, R8
	BNE  head
	ADD  R13, R12
	ADD  R7, R1
	ADD  R7, R2
	SUB  $1, R3
	B    token

done:
	RET
