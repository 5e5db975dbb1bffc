//go:build !purego

#include "textflag.h"

// func dwconv3x3RowAVX2(dst, rows, weight, bias []float32, w, c, c8 int, residual bool)
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
