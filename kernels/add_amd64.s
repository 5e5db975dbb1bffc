//go:build gc && !purego

#include "textflag.h"

// func addAVX2x8(dst *float32, a *float32, b *float32, n int)
// dst[i] = a[i] + b[i] for n a multiple of 8, 32 at a time then 8 at a
// time (VADDPS rounds as the scalar addition does).
TEXT ·addAVX2x8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ CX, BX
	SHRQ $5, BX
	JZ add_tail
add_loop4:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VADDPS 64(DX), Y2, Y2
	VADDPS 96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	DECQ BX
	JNZ add_loop4
add_tail:
	ANDQ $31, CX
	SHRQ $3, CX
	JZ add_done
add_loop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ add_loop
add_done:
	VZEROUPPER
	RET
