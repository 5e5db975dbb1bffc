//go:build gc && !purego

#include "textflag.h"

// func scaleAVX2(dst *float32, src *float32, n int, s float32)
// dst[i] = s·src[i] for n a multiple of 8, 32 at a time then 8 at a time
// (VMULPS rounds as the scalar multiplication does).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS s+24(FP), Y4
	MOVQ CX, BX
	SHRQ $5, BX
	JZ scale_tail
scale_loop4:
	VMULPS (SI), Y4, Y0
	VMULPS 32(SI), Y4, Y1
	VMULPS 64(SI), Y4, Y2
	VMULPS 96(SI), Y4, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ BX
	JNZ scale_loop4
scale_tail:
	ANDQ $31, CX
	SHRQ $3, CX
	JZ scale_done
scale_loop:
	VMULPS (SI), Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ scale_loop
scale_done:
	VZEROUPPER
	RET
