//go:build gc && !purego

#include "textflag.h"

DATA dwOnes<>+0(SB)/4, $1.0
DATA dwOnes<>+4(SB)/4, $1.0
DATA dwOnes<>+8(SB)/4, $1.0
DATA dwOnes<>+12(SB)/4, $1.0
GLOBL dwOnes<>(SB), RODATA|NOPTR, $16

// func dwconv3x3RowNEON(dst, rows, weight, bias []float32, w, c, c4 int, residual bool)
TEXT ·dwconv3x3RowNEON(SB), NOSPLIT, $0-121
	MOVD  dst_base+0(FP), R0
	MOVD  rows_base+24(FP), R1
	MOVD  weight_base+48(FP), R2
	MOVD  bias_base+72(FP), R3
	MOVD  w+96(FP), R4
	MOVD  c+104(FP), R5
	MOVD  c4+112(FP), R6
	MOVBU residual+120(FP), R7
	LSL   $2, R5, R5   // c in bytes: the pixel stride
	LSL   $2, R6, R6   // c4 in bytes
	ADD   $2, R4, R8
	MUL   R5, R8, R8   // (w+2)·c in bytes: the padded row stride
	MOVD  $dwOnes<>(SB), R9
	VLD1  (R9), [V12.S4] // ones, to add the residual with an FMLA
	MOVD  ZR, R10        // byte offset of this group of channels

group:
	// Tap weights V0..V8 and bias V9 for four channels.
	ADD  R10, R2, R9
	VLD1 (R9), [V0.S4]
	ADD  R5, R9
	VLD1 (R9), [V1.S4]
	ADD  R5, R9
	VLD1 (R9), [V2.S4]
	ADD  R5, R9
	VLD1 (R9), [V3.S4]
	ADD  R5, R9
	VLD1 (R9), [V4.S4]
	ADD  R5, R9
	VLD1 (R9), [V5.S4]
	ADD  R5, R9
	VLD1 (R9), [V6.S4]
	ADD  R5, R9
	VLD1 (R9), [V7.S4]
	ADD  R5, R9
	VLD1 (R9), [V8.S4]
	ADD  R10, R3, R9
	VLD1 (R9), [V9.S4]
	ADD  R10, R1, R11 // input row 0 at the left neighbour of pixel 0
	ADD  R10, R0, R12 // output pixel 0
	MOVD R4, R13

pixel:
	// acc = bias + Σ taps over rows R11, R11+R8, R11+2·R8 and columns
	// +0, +c, +2c (+ the centre input when residual).
	VORR  V9.B16, V9.B16, V10.B16
	MOVD  R11, R14
	VLD1  (R14), [V11.S4]
	VFMLA V0.S4, V11.S4, V10.S4
	ADD   R5, R14
	VLD1  (R14), [V11.S4]
	VFMLA V1.S4, V11.S4, V10.S4
	ADD   R5, R14
	VLD1  (R14), [V11.S4]
	VFMLA V2.S4, V11.S4, V10.S4
	ADD   R8, R11, R14
	VLD1  (R14), [V11.S4]
	VFMLA V3.S4, V11.S4, V10.S4
	ADD   R5, R14
	VLD1  (R14), [V13.S4] // the centre input
	VFMLA V4.S4, V13.S4, V10.S4
	ADD   R5, R14
	VLD1  (R14), [V11.S4]
	VFMLA V5.S4, V11.S4, V10.S4
	CBZ   R7, row2
	VFMLA V12.S4, V13.S4, V10.S4

row2:
	ADD   R8, R11, R14
	ADD   R8, R14
	VLD1  (R14), [V11.S4]
	VFMLA V6.S4, V11.S4, V10.S4
	ADD   R5, R14
	VLD1  (R14), [V11.S4]
	VFMLA V7.S4, V11.S4, V10.S4
	ADD   R5, R14
	VLD1  (R14), [V11.S4]
	VFMLA V8.S4, V11.S4, V10.S4
	VST1  [V10.S4], (R12)
	ADD   R5, R11
	ADD   R5, R12
	SUBS  $1, R13, R13
	BNE   pixel

	ADD $16, R10
	CMP R6, R10
	BLT group
	RET
