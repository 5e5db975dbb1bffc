//go:build gc && !purego

#include "textflag.h"

// func outerSumAVX2(dst, a *float32, na int, b *float32, nb int)
// Row i: dst = a[i] + b, 32, 8 and 4 values at a time, then one by one
// (VADDPS rounds as the scalar addition does).
TEXT ·outerSumAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ na+16(FP), CX
	MOVQ b+24(FP), R8
	MOVQ nb+32(FP), R9

row:
	VBROADCASTSS (SI), Y4
	MOVQ R8, BX
	MOVQ R9, DX

add32:
	CMPQ    DX, $32
	JB      add8
	VADDPS  (BX), Y4, Y0
	VADDPS  32(BX), Y4, Y1
	VADDPS  64(BX), Y4, Y2
	VADDPS  96(BX), Y4, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, BX
	ADDQ    $128, DI
	SUBQ    $32, DX
	JMP     add32

add8:
	CMPQ    DX, $8
	JB      add4
	VADDPS  (BX), Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, DX
	JMP     add8

add4:
	CMPQ    DX, $4
	JB      add1
	VADDPS  (BX), X4, X0
	VMOVUPS X0, (DI)
	ADDQ    $16, BX
	ADDQ    $16, DI
	SUBQ    $4, DX

add1:
	TESTQ  DX, DX
	JZ     next
	VADDSS (BX), X4, X0
	VMOVSS X0, (DI)
	ADDQ   $4, BX
	ADDQ   $4, DI
	DECQ   DX
	JMP    add1

next:
	ADDQ $4, SI
	DECQ CX
	JNZ  row
	VZEROUPPER
	RET
