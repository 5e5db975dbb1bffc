//go:build gc && !purego

#include "textflag.h"

// weightedRowSum: dst[k] = Σ_j w[j]·src[offs[j]+k]. Registers: DI dst,
// CX len(dst), SI src, R8 offs, R9 w, R10 taps, AX k (elements done),
// R11 tap index, DX the address of the current tap's row at k.

// ROWADDR sets DX = &src[offs[R11] + AX].
#define ROWADDR \
	MOVQ (R8)(R11*8), DX; \
	ADDQ AX, DX; \
	LEAQ (SI)(DX*4), DX

// func weightedRowSumAVX2(dst, src []float32, offs []int, w []float32)
TEXT ·weightedRowSumAVX2(SB), NOSPLIT, $0-96
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVQ offs_base+48(FP), R8
	MOVQ w_base+72(FP), R9
	MOVQ w_len+80(FP), R10
	XORQ AX, AX

avx2_loop64:
	// 64 outputs at a time in Y0-Y7: tap 0 multiplies, the others fuse.
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $64
	JLT  avx2_loop8
	XORQ R11, R11
	ROWADDR
	VBROADCASTSS (R9), Y15
	VMULPS       (DX), Y15, Y0
	VMULPS       32(DX), Y15, Y1
	VMULPS       64(DX), Y15, Y2
	VMULPS       96(DX), Y15, Y3
	VMULPS       128(DX), Y15, Y4
	VMULPS       160(DX), Y15, Y5
	VMULPS       192(DX), Y15, Y6
	VMULPS       224(DX), Y15, Y7
	MOVQ         $1, R11

avx2_tap64:
	CMPQ R11, R10
	JGE  avx2_store64
	ROWADDR
	VBROADCASTSS (R9)(R11*4), Y15
	VFMADD231PS  (DX), Y15, Y0
	VFMADD231PS  32(DX), Y15, Y1
	VFMADD231PS  64(DX), Y15, Y2
	VFMADD231PS  96(DX), Y15, Y3
	VFMADD231PS  128(DX), Y15, Y4
	VFMADD231PS  160(DX), Y15, Y5
	VFMADD231PS  192(DX), Y15, Y6
	VFMADD231PS  224(DX), Y15, Y7
	INCQ         R11
	JMP          avx2_tap64

avx2_store64:
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	VMOVUPS Y4, 128(DI)(AX*4)
	VMOVUPS Y5, 160(DI)(AX*4)
	VMOVUPS Y6, 192(DI)(AX*4)
	VMOVUPS Y7, 224(DI)(AX*4)
	ADDQ    $64, AX
	JMP     avx2_loop64

avx2_loop8:
	// 8 outputs at a time in Y0.
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  avx2_loop1
	XORQ R11, R11
	ROWADDR
	VBROADCASTSS (R9), Y15
	VMULPS       (DX), Y15, Y0
	MOVQ         $1, R11

avx2_tap8:
	CMPQ R11, R10
	JGE  avx2_store8
	ROWADDR
	VBROADCASTSS (R9)(R11*4), Y15
	VFMADD231PS  (DX), Y15, Y0
	INCQ         R11
	JMP          avx2_tap8

avx2_store8:
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     avx2_loop8

avx2_loop1:
	// The last 0-7 outputs one at a time in X0.
	CMPQ AX, CX
	JGE  avx2_done
	XORQ R11, R11
	ROWADDR
	VMOVSS (R9), X15
	VMULSS (DX), X15, X0
	MOVQ   $1, R11

avx2_tap1:
	CMPQ R11, R10
	JGE  avx2_store1
	ROWADDR
	VMOVSS      (R9)(R11*4), X15
	VFMADD231SS (DX), X15, X0
	INCQ        R11
	JMP         avx2_tap1

avx2_store1:
	VMOVSS X0, (DI)(AX*4)
	INCQ   AX
	JMP    avx2_loop1

avx2_done:
	VZEROUPPER
	RET

// func weightedRowSumAVX512(dst, src []float32, offs []int, w []float32)
TEXT ·weightedRowSumAVX512(SB), NOSPLIT, $0-96
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVQ offs_base+48(FP), R8
	MOVQ w_base+72(FP), R9
	MOVQ w_len+80(FP), R10
	XORQ AX, AX

avx512_loop128:
	// 128 outputs at a time in Z0-Z7: tap 0 multiplies, the others fuse.
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $128
	JLT  avx512_loop16
	XORQ R11, R11
	ROWADDR
	VBROADCASTSS (R9), Z15
	VMULPS       (DX), Z15, Z0
	VMULPS       64(DX), Z15, Z1
	VMULPS       128(DX), Z15, Z2
	VMULPS       192(DX), Z15, Z3
	VMULPS       256(DX), Z15, Z4
	VMULPS       320(DX), Z15, Z5
	VMULPS       384(DX), Z15, Z6
	VMULPS       448(DX), Z15, Z7
	MOVQ         $1, R11

avx512_tap128:
	CMPQ R11, R10
	JGE  avx512_store128
	ROWADDR
	VBROADCASTSS (R9)(R11*4), Z15
	VFMADD231PS  (DX), Z15, Z0
	VFMADD231PS  64(DX), Z15, Z1
	VFMADD231PS  128(DX), Z15, Z2
	VFMADD231PS  192(DX), Z15, Z3
	VFMADD231PS  256(DX), Z15, Z4
	VFMADD231PS  320(DX), Z15, Z5
	VFMADD231PS  384(DX), Z15, Z6
	VFMADD231PS  448(DX), Z15, Z7
	INCQ         R11
	JMP          avx512_tap128

avx512_store128:
	VMOVUPS Z0, (DI)(AX*4)
	VMOVUPS Z1, 64(DI)(AX*4)
	VMOVUPS Z2, 128(DI)(AX*4)
	VMOVUPS Z3, 192(DI)(AX*4)
	VMOVUPS Z4, 256(DI)(AX*4)
	VMOVUPS Z5, 320(DI)(AX*4)
	VMOVUPS Z6, 384(DI)(AX*4)
	VMOVUPS Z7, 448(DI)(AX*4)
	ADDQ    $128, AX
	JMP     avx512_loop128

avx512_loop16:
	// 16 outputs at a time in Z0.
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $16
	JLT  avx512_tail
	XORQ R11, R11
	ROWADDR
	VBROADCASTSS (R9), Z15
	VMULPS       (DX), Z15, Z0
	MOVQ         $1, R11

avx512_tap16:
	CMPQ R11, R10
	JGE  avx512_store16
	ROWADDR
	VBROADCASTSS (R9)(R11*4), Z15
	VFMADD231PS  (DX), Z15, Z0
	INCQ         R11
	JMP          avx512_tap16

avx512_store16:
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ    $16, AX
	JMP     avx512_loop16

avx512_tail:
	// The last 1-15 outputs under the mask K1 = (1<<BX)-1: masked-off lanes
	// are neither read nor written.
	TESTQ BX, BX
	JZ    avx512_done
	MOVQ  BX, CX
	MOVL  $1, BX
	SHLL  CX, BX
	DECL  BX
	KMOVW BX, K1
	XORQ  R11, R11
	ROWADDR
	VBROADCASTSS (R9), Z15
	VMOVUPS.Z    (DX), K1, Z16
	VMULPS       Z16, Z15, Z0
	MOVQ         $1, R11

avx512_tap_tail:
	CMPQ R11, R10
	JGE  avx512_store_tail
	ROWADDR
	VBROADCASTSS (R9)(R11*4), Z15
	VMOVUPS.Z    (DX), K1, Z16
	VFMADD231PS  Z16, Z15, Z0
	INCQ         R11
	JMP          avx512_tap_tail

avx512_store_tail:
	VMOVUPS Z0, K1, (DI)(AX*4)

avx512_done:
	VZEROUPPER
	RET
