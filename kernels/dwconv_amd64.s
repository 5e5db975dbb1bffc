//go:build gc && !purego

#include "textflag.h"

// func dwconv3x3RowAVX2(dst, rows, weight, bias []float32, w, c, c8 int, residual bool)
//
// Groups of eight channels up to c8, the nine tap weights and the bias in
// registers. (Sliding the neighbourhood in registers, as the AVX-512 code
// does, needs the weights as memory operands with 16 registers, and measured
// slower: 16.9 against 20.5 GFLOP/s on 24×24×768, Zen 4.)
TEXT ·dwconv3x3RowAVX2(SB), NOSPLIT, $0-121
	MOVQ dst_base+0(FP), DI
	MOVQ rows_base+24(FP), SI
	MOVQ weight_base+48(FP), R8
	MOVQ bias_base+72(FP), R9
	MOVQ w+96(FP), R10
	MOVQ c+104(FP), R11
	MOVQ c8+112(FP), R12
	MOVB residual+120(FP), R15
	SHLQ $2, R11         // c in bytes: the pixel stride
	LEAQ 2(R10), R13
	IMULQ R11, R13       // (w+2)·c in bytes: the padded row stride
	XORQ BX, BX          // byte offset of this group of channels

group:
	// Nine tap weights in Y0..Y8 and the bias in Y9 for channels BX/4 ..+8.
	MOVQ    R8, AX
	ADDQ    BX, AX
	VMOVUPS (AX), Y0
	ADDQ    R11, AX
	VMOVUPS (AX), Y1
	ADDQ    R11, AX
	VMOVUPS (AX), Y2
	ADDQ    R11, AX
	VMOVUPS (AX), Y3
	ADDQ    R11, AX
	VMOVUPS (AX), Y4
	ADDQ    R11, AX
	VMOVUPS (AX), Y5
	ADDQ    R11, AX
	VMOVUPS (AX), Y6
	ADDQ    R11, AX
	VMOVUPS (AX), Y7
	ADDQ    R11, AX
	VMOVUPS (AX), Y8
	VMOVUPS (R9)(BX*1), Y9
	LEAQ    (SI)(BX*1), AX // input row 0 at this pixel's left neighbour
	LEAQ    (DI)(BX*1), DX // output pixel
	MOVQ    R10, CX

pixel:
	// acc = bias + Σ taps of rows 0, 1, 2 (AX, AX+R13, AX+2·R13), columns
	// AX, AX+c, AX+2c.
	VMOVAPS     Y9, Y10
	VFMADD231PS (AX), Y0, Y10
	VFMADD231PS (AX)(R11*1), Y1, Y10
	VFMADD231PS (AX)(R11*2), Y2, Y10
	LEAQ        (AX)(R13*1), R14
	VFMADD231PS (R14), Y3, Y10
	VFMADD231PS (R14)(R11*1), Y4, Y10
	VFMADD231PS (R14)(R11*2), Y5, Y10
	TESTB       R15, R15
	JZ          row2
	VADDPS      (R14)(R11*1), Y10, Y10 // the residual: the centre input

row2:
	ADDQ        R13, R14
	VFMADD231PS (R14), Y6, Y10
	VFMADD231PS (R14)(R11*1), Y7, Y10
	VFMADD231PS (R14)(R11*2), Y8, Y10
	VMOVUPS     Y10, (DX)
	ADDQ        R11, AX
	ADDQ        R11, DX
	DECQ        CX
	JNZ         pixel

	ADDQ $32, BX
	MOVQ R12, AX
	SHLQ $2, AX
	CMPQ BX, AX
	JB   group

	VZEROUPPER
	RET

// func dwconv3x3RowAVX512(dst, rows, weight, bias []float32, w, c int, residual bool)
//
// Groups of sixteen channels (the last one under the K1 mask). For each
// group the nine tap weights and the bias stay in Z0..Z9 while the row is
// swept, and the 3×3 neighbourhood slides along it in registers: columns
// x, x+1, x+2 of the three padded rows in Z10..Z18, so each pixel loads only
// its new right-hand column.
TEXT ·dwconv3x3RowAVX512(SB), NOSPLIT, $0-113
	MOVQ  dst_base+0(FP), DI
	MOVQ  rows_base+24(FP), SI
	MOVQ  weight_base+48(FP), R8
	MOVQ  bias_base+72(FP), R9
	MOVQ  w+96(FP), R10
	MOVQ  c+104(FP), R12 // channels left
	MOVQ  R12, R11
	SHLQ  $2, R11        // c in bytes: the pixel stride
	LEAQ  2(R10), R13
	IMULQ R11, R13       // (w+2)·c in bytes: the padded row stride
	XORQ  BX, BX         // byte offset of this group of channels

group512:
	// K1: sixteen lanes, or the channels left in the last group.
	MOVL  $0xffff, AX
	CMPQ  R12, $16
	JAE   mask512
	MOVQ  R12, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX

mask512:
	KMOVW AX, K1

	// Weights Z0..Z8 and bias Z9.
	LEAQ      (R8)(BX*1), AX
	VMOVUPS.Z (AX), K1, Z0
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z1
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z2
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z3
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z4
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z5
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z6
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z7
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z8
	VMOVUPS.Z (R9)(BX*1), K1, Z9

	// The first two columns of the window: rows 0..2 of column 0 in
	// Z10..Z12, of column 1 in Z13..Z15.
	LEAQ      (SI)(BX*1), AX
	VMOVUPS.Z (AX), K1, Z10
	VMOVUPS.Z (AX)(R13*1), K1, Z11
	VMOVUPS.Z (AX)(R13*2), K1, Z12
	ADDQ      R11, AX
	VMOVUPS.Z (AX), K1, Z13
	VMOVUPS.Z (AX)(R13*1), K1, Z14
	VMOVUPS.Z (AX)(R13*2), K1, Z15
	ADDQ      R11, AX
	LEAQ      (DI)(BX*1), DX
	MOVQ      R10, CX

pixel512:
	// The new column (Z16..Z18), then acc = bias + Σ taps (+ the centre).
	VMOVUPS.Z   (AX), K1, Z16
	VMOVUPS.Z   (AX)(R13*1), K1, Z17
	VMOVUPS.Z   (AX)(R13*2), K1, Z18
	VMOVAPS     Z9, Z19
	VFMADD231PS Z10, Z0, Z19
	VFMADD231PS Z13, Z1, Z19
	VFMADD231PS Z16, Z2, Z19
	VFMADD231PS Z11, Z3, Z19
	VFMADD231PS Z14, Z4, Z19
	VFMADD231PS Z17, Z5, Z19
	VFMADD231PS Z12, Z6, Z19
	VFMADD231PS Z15, Z7, Z19
	VFMADD231PS Z18, Z8, Z19
	CMPB        residual+112(FP), $0
	JEQ         store512
	VADDPS      Z14, Z19, Z19

store512:
	VMOVUPS Z19, K1, (DX)

	// Slide the window one column to the right.
	VMOVAPS Z13, Z10
	VMOVAPS Z14, Z11
	VMOVAPS Z15, Z12
	VMOVAPS Z16, Z13
	VMOVAPS Z17, Z14
	VMOVAPS Z18, Z15
	ADDQ    R11, AX
	ADDQ    R11, DX
	DECQ    CX
	JNZ     pixel512

	ADDQ $64, BX
	SUBQ $16, R12
	JG   group512
	VZEROUPPER
	RET
