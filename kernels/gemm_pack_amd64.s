//go:build gc && !purego

#include "textflag.h"

// func gemmPackT8(dst *float32, mr int, src *float32, lda, kc8 int, alpha float32)
//
// Transposes 8 rows × kc8 columns of A (kc8 a multiple of 8) into 8-float
// columns mr floats apart, 8×8 blocks at a time: load 8 row vectors,
// transpose in registers (unpack, shuffle, lane permute), scale by alpha,
// store the 8 columns in increasing order.
TEXT ·gemmPackT8(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ mr+8(FP), R9
	SHLQ $2, R9
	MOVQ src+16(FP), SI
	MOVQ lda+24(FP), DX
	SHLQ $2, DX
	MOVQ kc8+32(FP), CX
	SHRQ $3, CX

	// Row pointers: SI, R8, R10, R11, R12, R13, BX, AX.
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), BX
	LEAQ (BX)(DX*1), AX
	TESTQ CX, CX
	JZ done

loop:
	// Y0..Y7 = rows 0..7, columns k..k+7.
	VMOVUPS (SI), Y0
	VMOVUPS (R8), Y1
	VMOVUPS (R10), Y2
	VMOVUPS (R11), Y3
	VMOVUPS (R12), Y4
	VMOVUPS (R13), Y5
	VMOVUPS (BX), Y6
	VMOVUPS (AX), Y7

	// Interleave row pairs: Y8 = (r0,r1) columns 0,1|4,5, Y9 = 2,3|6,7, …
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	// Gather 4 rows per column: Y0 = rows 0-3 of columns 0|4, Y1 of 1|5,
	// Y2 of 2|6, Y3 of 3|7; Y4..Y7 the same for rows 4-7.
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VBROADCASTSS alpha+40(FP), Y15

	// Join the 128-bit halves into whole columns, scale, store column by
	// column (a store may spill past 8 floats only into later columns).
	VPERM2F128 $0x20, Y4, Y0, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x20, Y5, Y1, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x20, Y6, Y2, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x20, Y7, Y3, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x31, Y4, Y0, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x31, Y5, Y1, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x31, Y6, Y2, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI
	VPERM2F128 $0x31, Y7, Y3, Y8
	VMULPS Y15, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ R9, DI

	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	ADDQ $32, BX
	ADDQ $32, AX
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// func gemmCopyPanelRows(dst, src *float32, rows, panels, ldb, panelLen int)
//
// For each of rows rows of B (ldb floats apart) copies panels×16 floats
// into panels packed panels (panelLen floats apart), 16 floats each, and
// moves on one packed row (16 floats).
TEXT ·gemmCopyPanelRows(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ panels+24(FP), BX
	MOVQ ldb+32(FP), R8
	SHLQ $2, R8
	MOVQ panelLen+40(FP), R9
	SHLQ $2, R9
	TESTQ CX, CX
	JZ copydone
	TESTQ BX, BX
	JZ copydone

copyrow:
	// One row of K: 64 contiguous bytes to each panel.
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ BX, DX
copypanel:
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	ADDQ $64, R10
	ADDQ R9, R11
	DECQ DX
	JNZ copypanel
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ copyrow

copydone:
	VZEROUPPER
	RET
