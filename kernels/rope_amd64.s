//go:build gc && !purego

#include "textflag.h"

// ropeMask: eight all-ones then eight zero dwords; 32 bytes read from
// ropeMask+4·(8-r) enable the first r lanes of a ymm register.
DATA ropeMask<>+0(SB)/8, $0xffffffffffffffff
DATA ropeMask<>+8(SB)/8, $0xffffffffffffffff
DATA ropeMask<>+16(SB)/8, $0xffffffffffffffff
DATA ropeMask<>+24(SB)/8, $0xffffffffffffffff
DATA ropeMask<>+32(SB)/8, $0
DATA ropeMask<>+40(SB)/8, $0
DATA ropeMask<>+48(SB)/8, $0
DATA ropeMask<>+56(SB)/8, $0
GLOBL ropeMask<>(SB), RODATA|NOPTR, $64

// func ropeRotateAVX2(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
//
// For each token, for each head, over the head's row of headDim values:
// out = x·cos ∓ swap(x)·sin, subtracting in even lanes and adding in odd
// ones (VFMADDSUB), where swap exchanges the two values of each pair — that
// is x·cos + rot(x)·sin with rot = [-x1 x0 -x3 x2 …].
TEXT ·ropeRotateAVX2(SB), NOSPLIT, $0-104
	MOVQ x_base+0(FP), DI
	MOVQ sin_base+32(FP), R8
	MOVQ cos_base+56(FP), R9
	MOVQ tokens+80(FP), R10
	MOVQ heads+88(FP), R11
	MOVQ headDim+96(FP), R12
	// Mask for the row tail (headDim mod 8 lanes) in Y15.
	MOVQ R12, AX
	ANDQ $7, AX
	LEAQ ropeMask<>(SB), BX
	MOVQ $8, CX
	SUBQ AX, CX
	VMOVDQU (BX)(CX*4), Y15
	MOVQ R12, R13
	SHLQ $2, R13 // headDim in bytes: the sin/cos row stride
	MOVQ DI, AX  // the current token's row
	MOVQ ld+24(FP), BX
	SHLQ $2, BX  // the row stride of x in bytes

token:
	TESTQ R10, R10
	JZ    done
	MOVQ  AX, DI
	MOVQ  R11, R14 // heads left for this token

head:
	MOVQ R8, SI // sin row
	MOVQ R9, DX // cos row
	MOVQ R12, CX

pairs8:
	// Eight values: four rotated pairs.
	CMPQ           CX, $8
	JB             tail
	VMOVUPS        (DI), Y0
	VPERMILPS      $0xB1, Y0, Y3
	VMULPS         (SI), Y3, Y3
	VFMADDSUB231PS (DX), Y0, Y3
	VMOVUPS        Y3, (DI)
	ADDQ           $32, DI
	ADDQ           $32, SI
	ADDQ           $32, DX
	SUBQ           $8, CX
	JMP            pairs8

tail:
	// The last 2, 4 or 6 values, under the Y15 mask.
	TESTQ          CX, CX
	JZ             nexthead
	VMASKMOVPS     (DI), Y15, Y0
	VMASKMOVPS     (SI), Y15, Y1
	VMASKMOVPS     (DX), Y15, Y2
	VPERMILPS      $0xB1, Y0, Y3
	VMULPS         Y1, Y3, Y3
	VFMADDSUB231PS Y2, Y0, Y3
	VMASKMOVPS     Y3, Y15, (DI)
	LEAQ           (DI)(CX*4), DI

nexthead:
	DECQ R14
	JNZ  head
	ADDQ BX, AX
	ADDQ R13, R8
	ADDQ R13, R9
	DECQ R10
	JMP  token

done:
	VZEROUPPER
	RET

// func ropeRotateAVX512(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
//
// The same as ropeRotateAVX2 on sixteen lanes, the row tail under K1.
TEXT ·ropeRotateAVX512(SB), NOSPLIT, $0-104
	MOVQ x_base+0(FP), DI
	MOVQ sin_base+32(FP), R8
	MOVQ cos_base+56(FP), R9
	MOVQ tokens+80(FP), R10
	MOVQ heads+88(FP), R11
	MOVQ headDim+96(FP), R12
	// K1 enables the first headDim mod 16 lanes.
	MOVQ  R12, CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	MOVQ  R12, R13
	SHLQ  $2, R13
	MOVQ  DI, AX
	MOVQ  ld+24(FP), BX
	SHLQ  $2, BX

token512:
	TESTQ R10, R10
	JZ    done512
	MOVQ  AX, DI
	MOVQ  R11, R14

head512:
	MOVQ R8, SI
	MOVQ R9, DX
	MOVQ R12, CX

pairs16:
	CMPQ           CX, $16
	JB             tail512
	VMOVUPS        (DI), Z0
	VPERMILPS      $0xB1, Z0, Z3
	VMULPS         (SI), Z3, Z3
	VFMADDSUB231PS (DX), Z0, Z3
	VMOVUPS        Z3, (DI)
	ADDQ           $64, DI
	ADDQ           $64, SI
	ADDQ           $64, DX
	SUBQ           $16, CX
	JMP            pairs16

tail512:
	TESTQ          CX, CX
	JZ             nexthead512
	VMOVUPS.Z      (DI), K1, Z0
	VMOVUPS.Z      (SI), K1, Z1
	VMOVUPS.Z      (DX), K1, Z2
	VPERMILPS      $0xB1, Z0, Z3
	VMULPS         Z1, Z3, Z3
	VFMADDSUB231PS Z2, Z0, Z3
	VMOVUPS        Z3, K1, (DI)
	LEAQ           (DI)(CX*4), DI

nexthead512:
	DECQ R14
	JNZ  head512
	ADDQ BX, AX
	ADDQ R13, R8
	ADDQ R13, R9
	DECQ R10
	JMP  token512

done512:
	VZEROUPPER
	RET
