//go:build !purego

#include "textflag.h"

// ropeHalfMask: eight all-ones then eight zero dwords; 32 bytes read from
// ropeHalfMask+4·(8-r) enable the first r lanes of a ymm register.
DATA ropeHalfMask<>+0(SB)/8, $0xffffffffffffffff
DATA ropeHalfMask<>+8(SB)/8, $0xffffffffffffffff
DATA ropeHalfMask<>+16(SB)/8, $0xffffffffffffffff
DATA ropeHalfMask<>+24(SB)/8, $0xffffffffffffffff
DATA ropeHalfMask<>+32(SB)/8, $0
DATA ropeHalfMask<>+40(SB)/8, $0
DATA ropeHalfMask<>+48(SB)/8, $0
DATA ropeHalfMask<>+56(SB)/8, $0
GLOBL ropeHalfMask<>(SB), RODATA|NOPTR, $64

// func ropeRotateHalfAVX2(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
//
// For each token, for each head: lo = the head's first headDim/2 values
// (DI), hi = the rest (R15), s and c the token's sin and cos rows;
// lo' = lo·c - hi·s (VFMSUB over the rounded hi·s), hi' = hi·c + lo·s
// (VFMADD over the rounded lo·s).
TEXT ·ropeRotateHalfAVX2(SB), NOSPLIT, $0-104
	MOVQ x_base+0(FP), AX
	MOVQ sin_base+32(FP), R8
	MOVQ cos_base+56(FP), R9
	MOVQ tokens+80(FP), R10
	MOVQ heads+88(FP), R11
	MOVQ headDim+96(FP), R12
	SHRQ $1, R12 // half: pairs per head
	// Mask for the last half mod 8 pairs in Y15.
	MOVQ R12, CX
	ANDQ $7, CX
	LEAQ ropeHalfMask<>(SB), BX
	MOVQ $8, DX
	SUBQ CX, DX
	VMOVDQU (BX)(DX*4), Y15
	MOVQ R12, R13
	SHLQ $2, R13 // half in bytes: the sin/cos row stride and lo→hi
	MOVQ ld+24(FP), BX
	SHLQ $2, BX  // the row stride of x in bytes

htoken:
	TESTQ R10, R10
	JZ    hdone
	MOVQ  AX, DI
	MOVQ  R11, R14 // heads left for this token

hhead:
	LEAQ (DI)(R13*1), R15
	MOVQ R8, SI
	MOVQ R9, DX
	MOVQ R12, CX

hpairs8:
	CMPQ        CX, $8
	JB          htail
	VMOVUPS     (DI), Y0
	VMOVUPS     (R15), Y1
	VMOVUPS     (SI), Y4
	VMOVUPS     (DX), Y5
	VMULPS      Y4, Y1, Y2
	VFMSUB231PS Y5, Y0, Y2
	VMULPS      Y4, Y0, Y3
	VFMADD231PS Y5, Y1, Y3
	VMOVUPS     Y2, (DI)
	VMOVUPS     Y3, (R15)
	ADDQ        $32, DI
	ADDQ        $32, R15
	ADDQ        $32, SI
	ADDQ        $32, DX
	SUBQ        $8, CX
	JMP         hpairs8

htail:
	TESTQ       CX, CX
	JZ          hnexthead
	VMASKMOVPS  (DI), Y15, Y0
	VMASKMOVPS  (R15), Y15, Y1
	VMASKMOVPS  (SI), Y15, Y4
	VMASKMOVPS  (DX), Y15, Y5
	VMULPS      Y4, Y1, Y2
	VFMSUB231PS Y5, Y0, Y2
	VMULPS      Y4, Y0, Y3
	VFMADD231PS Y5, Y1, Y3
	VMASKMOVPS  Y2, Y15, (DI)
	VMASKMOVPS  Y3, Y15, (R15)
	LEAQ        (R15)(CX*4), R15

hnexthead:
	MOVQ R15, DI // the end of hi is the next head
	DECQ R14
	JNZ  hhead
	ADDQ BX, AX
	ADDQ R13, R8
	ADDQ R13, R9
	DECQ R10
	JMP  htoken

hdone:
	VZEROUPPER
	RET

// func ropeRotateHalfAVX512(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
//
// The same as ropeRotateHalfAVX2 on sixteen pairs, the tail under K1.
TEXT ·ropeRotateHalfAVX512(SB), NOSPLIT, $0-104
	MOVQ x_base+0(FP), AX
	MOVQ sin_base+32(FP), R8
	MOVQ cos_base+56(FP), R9
	MOVQ tokens+80(FP), R10
	MOVQ heads+88(FP), R11
	MOVQ headDim+96(FP), R12
	SHRQ $1, R12
	// K1 enables the first half mod 16 lanes.
	MOVQ  R12, CX
	ANDQ  $15, CX
	MOVL  $1, DX
	SHLL  CX, DX
	DECL  DX
	KMOVW DX, K1
	MOVQ  R12, R13
	SHLQ  $2, R13
	MOVQ  ld+24(FP), BX
	SHLQ  $2, BX

ztoken:
	TESTQ R10, R10
	JZ    zdone
	MOVQ  AX, DI
	MOVQ  R11, R14

zhead:
	LEAQ (DI)(R13*1), R15
	MOVQ R8, SI
	MOVQ R9, DX
	MOVQ R12, CX

zpairs16:
	CMPQ        CX, $16
	JB          ztail
	VMOVUPS     (DI), Z0
	VMOVUPS     (R15), Z1
	VMOVUPS     (SI), Z4
	VMOVUPS     (DX), Z5
	VMULPS      Z4, Z1, Z2
	VFMSUB231PS Z5, Z0, Z2
	VMULPS      Z4, Z0, Z3
	VFMADD231PS Z5, Z1, Z3
	VMOVUPS     Z2, (DI)
	VMOVUPS     Z3, (R15)
	ADDQ        $64, DI
	ADDQ        $64, R15
	ADDQ        $64, SI
	ADDQ        $64, DX
	SUBQ        $16, CX
	JMP         zpairs16

ztail:
	TESTQ       CX, CX
	JZ          znexthead
	VMOVUPS.Z   (DI), K1, Z0
	VMOVUPS.Z   (R15), K1, Z1
	VMOVUPS.Z   (SI), K1, Z4
	VMOVUPS.Z   (DX), K1, Z5
	VMULPS      Z4, Z1, Z2
	VFMSUB231PS Z5, Z0, Z2
	VMULPS      Z4, Z0, Z3
	VFMADD231PS Z5, Z1, Z3
	VMOVUPS     Z2, K1, (DI)
	VMOVUPS     Z3, K1, (R15)
	LEAQ        (R15)(CX*4), R15

znexthead:
	MOVQ R15, DI
	DECQ R14
	JNZ  zhead
	ADDQ BX, AX
	ADDQ R13, R8
	ADDQ R13, R9
	DECQ R10
	JMP  ztoken

zdone:
	VZEROUPPER
	RET
