//go:build gc && !purego

#include "textflag.h"

// weightedRowSum: dst[k] = Σ_j w[j]·src[offs[j]+k]. Registers: R0 dst,
// R1 len(dst), R2 src, R3 offs, R4 w, R5 taps, R6 k (elements done),
// R7 tap index, R8 the address of the current tap's row at k, R9 the
// address of its weight, R10 scratch. Accumulators start at zero, so the
// first fused tap is an exact product.

// ROWADDR sets R8 = &src[offs[R7] + R6] and R9 = &w[R7].
#define ROWADDR \
	MOVD (R3)(R7<<3), R8; \
	ADD  R6, R8, R8; \
	ADD  R8<<2, R2, R8; \
	ADD  R7<<2, R4, R9

// func weightedRowSumNEON(dst, src []float32, offs []int, w []float32)
TEXT ·weightedRowSumNEON(SB), NOSPLIT, $0-96
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R1
	MOVD src_base+24(FP), R2
	MOVD offs_base+48(FP), R3
	MOVD w_base+72(FP), R4
	MOVD w_len+80(FP), R5
	MOVD $0, R6

loop32:
	// 32 outputs at a time in V0-V7.
	SUB  R6, R1, R10
	CMP  $32, R10
	BLT  loop4
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	MOVD $0, R7

tap32:
	ROWADDR
	VLD1R (R9), [V16.S4]
	VLD1  (R8), [V8.S4, V9.S4, V10.S4, V11.S4]
	ADD   $64, R8
	VLD1  (R8), [V12.S4, V13.S4, V14.S4, V15.S4]
	VFMLA V16.S4, V8.S4, V0.S4
	VFMLA V16.S4, V9.S4, V1.S4
	VFMLA V16.S4, V10.S4, V2.S4
	VFMLA V16.S4, V11.S4, V3.S4
	VFMLA V16.S4, V12.S4, V4.S4
	VFMLA V16.S4, V13.S4, V5.S4
	VFMLA V16.S4, V14.S4, V6.S4
	VFMLA V16.S4, V15.S4, V7.S4
	ADD   $1, R7
	CMP   R5, R7
	BLT   tap32
	ADD   R6<<2, R0, R10
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R10)
	VST1   [V4.S4, V5.S4, V6.S4, V7.S4], (R10)
	ADD    $32, R6
	B      loop32

loop4:
	// 4 outputs at a time in V0.
	SUB  R6, R1, R10
	CMP  $4, R10
	BLT  loop1
	VEOR V0.B16, V0.B16, V0.B16
	MOVD $0, R7

tap4:
	ROWADDR
	VLD1R (R9), [V16.S4]
	VLD1  (R8), [V8.S4]
	VFMLA V16.S4, V8.S4, V0.S4
	ADD   $1, R7
	CMP   R5, R7
	BLT   tap4
	ADD   R6<<2, R0, R10
	VST1  [V0.S4], (R10)
	ADD   $4, R6
	B     loop4

loop1:
	// The last 0-3 outputs one at a time in F0.
	CMP  R1, R6
	BGE  done
	VEOR V0.B16, V0.B16, V0.B16
	MOVD $0, R7

tap1:
	ROWADDR
	FMOVS  (R9), F16
	FMOVS  (R8), F8
	FMADDS F16, F0, F8, F0 // F0 += F8·F16
	ADD    $1, R7
	CMP    R5, R7
	BLT    tap1
	ADD    R6<<2, R0, R10
	FMOVS  F0, (R10)
	ADD    $1, R6
	B      loop1

done:
	RET
