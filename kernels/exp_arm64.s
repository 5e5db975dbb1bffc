//go:build gc && !purego

#include "exp_arm64.h"

// func expNEON(dst, src []float32)
TEXT ·expNEON(SB), NOSPLIT, $0-48
	MOVD dst_base+0(FP), R0
	MOVD src_base+24(FP), R1
	MOVD src_len+32(FP), R2
	EXPCONST_NEON

	// The last four elements, read before any store.
	SUB  $4, R2, R4
	ADD  R4<<2, R1, R5
	ADD  R4<<2, R0, R6
	VLD1 (R5), [V8.S4]
	LSR  $2, R2, R7

	// Four lanes at a time.
loop:
	CBZ    R7, last
	VLD1.P 16(R1), [V0.S4]
	EXP_NEON(0, 1, 2, 3)
	VST1.P [V0.S4], 16(R0)
	SUB    $1, R7
	B      loop

	// The last four again (from the saved input).
last:
	EXP_NEON(8, 1, 2, 3)
	VST1 [V8.S4], (R6)
	RET
