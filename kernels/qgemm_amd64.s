//go:build gc && !purego

#include "textflag.h"
#include "tile_amd64.h"

// Permutation that puts the dwords of VPACKSSDW+VPACKUSWB's lane-wise
// result back in element order.
DATA qPermIdx<>+0(SB)/4, $0
DATA qPermIdx<>+4(SB)/4, $4
DATA qPermIdx<>+8(SB)/4, $1
DATA qPermIdx<>+12(SB)/4, $5
DATA qPermIdx<>+16(SB)/4, $2
DATA qPermIdx<>+20(SB)/4, $6
DATA qPermIdx<>+24(SB)/4, $3
DATA qPermIdx<>+28(SB)/4, $7
GLOBL qPermIdx<>(SB), RODATA|NOPTR, $32

// QAVX2_INIT sets Y15 to int16 ones (VPMADDWD's pair adder) and clears
// the 4×16 int32 tile Y0–Y7. Clobbers AX.
#define QAVX2_INIT \
	MOVL $0x00010001, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15; \
	VPXOR Y0, Y0, Y0; \
	VPXOR Y1, Y1, Y1; \
	VPXOR Y2, Y2, Y2; \
	VPXOR Y3, Y3, Y3; \
	VPXOR Y4, Y4, Y4; \
	VPXOR Y5, Y5, Y5; \
	VPXOR Y6, Y6, Y6; \
	VPXOR Y7, Y7, Y7

// QAVX2_ROW(a, y0, y1) adds one group of 4 steps of K for one tile row:
// the row's 4 activation bytes at a, broadcast, times the panel's weights
// in Y8–Y9, pairs into int16 (VPMADDUBSW), then into int32 (VPMADDWD by
// Y15), added to y0, y1. Clobbers Y10–Y12.
#define QAVX2_ROW(a, y0, y1) \
	VPBROADCASTD a, Y10; \
	VPMADDUBSW Y8, Y10, Y11; \
	VPMADDUBSW Y9, Y10, Y12; \
	VPMADDWD Y15, Y11, Y11; \
	VPMADDWD Y15, Y12, Y12; \
	VPADDD Y11, y0, y0; \
	VPADDD Y12, y1, y1

// QAVX2_DOT is qgemmAVX2's loop: Y0–Y7 = the 4×16 int32 tile (row r in
// Y(2r), Y(2r+1)) over CX groups of 4 steps of K, a at SI (rows R8 bytes
// apart, R10 = 3·R8), b at DI (one panel, 64 bytes a group). Clobbers
// Y8–Y12, Y15, AX.
#define QAVX2_DOT \
	QAVX2_INIT; \
	TESTQ CX, CX; \
	JZ qavx2_done; \
qavx2_loop: \
	VMOVDQU (DI), Y8; \
	VMOVDQU 32(DI), Y9; \
	QAVX2_ROW((SI), Y0, Y1); \
	QAVX2_ROW((SI)(R8*1), Y2, Y3); \
	QAVX2_ROW((SI)(R8*2), Y4, Y5); \
	QAVX2_ROW((SI)(R10*1), Y6, Y7); \
	ADDQ $4, SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNZ qavx2_loop; \
qavx2_done:

// QAVX2N_ROW(a0, a1, y0, y1) is QAVX2_ROW for a pair of groups of a narrow
// weight (|Bq| ≤ 64): the first group's bytes at a0 times Y8–Y9, the
// second's at a1 times the weights 64 bytes on (read from memory), the two
// VPMADDUBSW results added in int16 (exact: |sum| ≤ 4·127·64 = 32512 <
// 2¹⁵) before one VPMADDWD widens them. Clobbers Y10–Y14.
#define QAVX2N_ROW(a0, a1, y0, y1) \
	VPBROADCASTD a0, Y10; \
	VPMADDUBSW Y8, Y10, Y11; \
	VPMADDUBSW Y9, Y10, Y12; \
	VPBROADCASTD a1, Y10; \
	VPMADDUBSW 64(DI), Y10, Y13; \
	VPMADDUBSW 96(DI), Y10, Y14; \
	VPADDW Y13, Y11, Y11; \
	VPADDW Y14, Y12, Y12; \
	VPMADDWD Y15, Y11, Y11; \
	VPMADDWD Y15, Y12, Y12; \
	VPADDD Y11, y0, y0; \
	VPADDD Y12, y1, y1

// QAVX2N_DOT is QAVX2_DOT for a narrow weight over CX pairs of groups
// (QAVX2N_ROW): a quarter fewer multiplies. Clobbers Y8–Y15, AX.
#define QAVX2N_DOT \
	QAVX2_INIT; \
	TESTQ CX, CX; \
	JZ qavx2n_done; \
qavx2n_loop: \
	VMOVDQU (DI), Y8; \
	VMOVDQU 32(DI), Y9; \
	QAVX2N_ROW((SI), 4(SI), Y0, Y1); \
	QAVX2N_ROW((SI)(R8*1), 4(SI)(R8*1), Y2, Y3); \
	QAVX2N_ROW((SI)(R8*2), 4(SI)(R8*2), Y4, Y5); \
	QAVX2N_ROW((SI)(R10*1), 4(SI)(R10*1), Y6, Y7); \
	ADDQ $8, SI; \
	ADDQ $128, DI; \
	DECQ CX; \
	JNZ qavx2n_loop; \
qavx2n_done:

// QAVX2_ARGS loads the tile kernels' common arguments: CX = kg,
// SI = a, R8 = lda, DI = b, R10 = 3·lda.
#define QAVX2_ARGS \
	MOVQ kg+0(FP), CX; \
	MOVQ a+8(FP), SI; \
	MOVQ lda+16(FP), R8; \
	MOVQ b+24(FP), DI; \
	LEAQ (R8)(R8*2), R10

// QAVX2_STORE stores the tile Y0–Y7 as 4×16 int32 at t.
#define QAVX2_STORE \
	MOVQ t+40(FP), DX; \
	VMOVDQU Y0, 0(DX); \
	VMOVDQU Y1, 32(DX); \
	VMOVDQU Y2, 64(DX); \
	VMOVDQU Y3, 96(DX); \
	VMOVDQU Y4, 128(DX); \
	VMOVDQU Y5, 160(DX); \
	VMOVDQU Y6, 192(DX); \
	VMOVDQU Y7, 224(DX)

// QAVX2_CARGS loads the direct-C kernels' epilogue arguments (as
// QAVX2_CROW reads them) and sets the flags on addC.
#define QAVX2_CARGS \
	MOVQ c+40(FP), DX; \
	MOVQ ldc+48(FP), R13; \
	SHLQ $2, R13; \
	MOVQ colSum+56(FP), AX; \
	MOVQ sw+64(FP), BX; \
	MOVQ bias+72(FP), R14; \
	MOVQ za+80(FP), R15; \
	MOVQ sa+88(FP), SI; \
	MOVQ addC+96(FP), CX; \
	TESTQ CX, CX

// func qgemmAVX2(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
TEXT ·qgemmAVX2(SB), NOSPLIT, $0-48
	QAVX2_ARGS
	QAVX2_DOT
	QAVX2_STORE
	VZEROUPPER
	RET

// func qgemmAVX2N(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
TEXT ·qgemmAVX2N(SB), NOSPLIT, $0-48
	QAVX2_ARGS
	QAVX2N_DOT
	QAVX2_STORE
	VZEROUPPER
	RET

// QAVX2_CROW(y0, y1, ADD) is QVNNI_CROW for one row of the 4×16 tile:
// (acc − za·colSum) as float32, times sa·sw, plus the bias, then ADD
// (QAVX2_CSET: nothing; QAVX2_CADD: plus what DX held), stored at DX;
// colSum at AX, sw at BX, bias at R14, the row's za at R15 and sa at SI,
// which move to the next row with DX (R13 = ldc in bytes).
#define QAVX2_CROW(y0, y1, ADD) \
	VPBROADCASTD (R15), Y8; \
	VBROADCASTSS (SI), Y9; \
	VPMULLD 0(AX), Y8, Y10; \
	VPMULLD 32(AX), Y8, Y11; \
	VPSUBD Y10, y0, y0; \
	VPSUBD Y11, y1, y1; \
	VCVTDQ2PS y0, y0; \
	VCVTDQ2PS y1, y1; \
	VMULPS 0(BX), Y9, Y10; \
	VMULPS 32(BX), Y9, Y11; \
	VMULPS Y10, y0, y0; \
	VMULPS Y11, y1, y1; \
	VADDPS 0(R14), y0, y0; \
	VADDPS 32(R14), y1, y1; \
	ADD(y0, y1); \
	VMOVUPS y0, 0(DX); \
	VMOVUPS y1, 32(DX); \
	ADDQ R13, DX; \
	ADDQ $4, R15; \
	ADDQ $4, SI

#define QAVX2_CADD(y0, y1) \
	VADDPS 0(DX), y0, y0; \
	VADDPS 32(DX), y1, y1

#define QAVX2_CSET(y0, y1)

// QAVX2_CROWS(ADD) runs QAVX2_CROW on the tile's four rows in order.
#define QAVX2_CROWS(ADD) \
	QAVX2_CROW(Y0, Y1, ADD); \
	QAVX2_CROW(Y2, Y3, ADD); \
	QAVX2_CROW(Y4, Y5, ADD); \
	QAVX2_CROW(Y6, Y7, ADD)

// func qgemmAVX2C(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw *float32, bias *float32, za *int32, sa *float32, addC int)
TEXT ·qgemmAVX2C(SB), NOSPLIT, $0-104
	QAVX2_ARGS
	QAVX2_DOT
	QAVX2_CARGS
	JNZ qavx2c_add
	QAVX2_CROWS(QAVX2_CSET)
	VZEROUPPER
	RET
qavx2c_add:
	QAVX2_CROWS(QAVX2_CADD)
	VZEROUPPER
	RET

// func qgemmAVX2NC(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw *float32, bias *float32, za *int32, sa *float32, addC int)
TEXT ·qgemmAVX2NC(SB), NOSPLIT, $0-104
	QAVX2_ARGS
	QAVX2N_DOT
	QAVX2_CARGS
	JNZ qavx2nc_add
	QAVX2_CROWS(QAVX2_CSET)
	VZEROUPPER
	RET
qavx2nc_add:
	QAVX2_CROWS(QAVX2_CADD)
	VZEROUPPER
	RET

// QVNNI_DOT is qgemmVNNI's loop: Z0–Z23 = the 6×64 int32 tile (row r,
// panel p in Z(4r+p)) over CX groups of 4 steps of K, a at SI (rows R8
// bytes apart; R10 = 3·R8, R11 = SI + 4·R8), b at DI (panels R9 bytes
// apart; R12 = 3·R9). Clobbers Z24–Z29.
#define QVNNI_DOT \
	TILE_ZERO; \
	TESTQ CX, CX; \
	JZ qvnni_done; \
qvnni_loop:; \
	VMOVDQU32 (DI), Z24; \
	VMOVDQU32 (DI)(R9*1), Z25; \
	VMOVDQU32 (DI)(R9*2), Z26; \
	VMOVDQU32 (DI)(R12*1), Z27; \
	VPBROADCASTD (SI), Z28; \
	VPDPBUSD Z24, Z28, Z0; \
	VPDPBUSD Z25, Z28, Z1; \
	VPDPBUSD Z26, Z28, Z2; \
	VPDPBUSD Z27, Z28, Z3; \
	VPBROADCASTD (SI)(R8*1), Z29; \
	VPDPBUSD Z24, Z29, Z4; \
	VPDPBUSD Z25, Z29, Z5; \
	VPDPBUSD Z26, Z29, Z6; \
	VPDPBUSD Z27, Z29, Z7; \
	VPBROADCASTD (SI)(R8*2), Z28; \
	VPDPBUSD Z24, Z28, Z8; \
	VPDPBUSD Z25, Z28, Z9; \
	VPDPBUSD Z26, Z28, Z10; \
	VPDPBUSD Z27, Z28, Z11; \
	VPBROADCASTD (SI)(R10*1), Z29; \
	VPDPBUSD Z24, Z29, Z12; \
	VPDPBUSD Z25, Z29, Z13; \
	VPDPBUSD Z26, Z29, Z14; \
	VPDPBUSD Z27, Z29, Z15; \
	VPBROADCASTD (R11), Z28; \
	VPDPBUSD Z24, Z28, Z16; \
	VPDPBUSD Z25, Z28, Z17; \
	VPDPBUSD Z26, Z28, Z18; \
	VPDPBUSD Z27, Z28, Z19; \
	VPBROADCASTD (R11)(R8*1), Z29; \
	VPDPBUSD Z24, Z29, Z20; \
	VPDPBUSD Z25, Z29, Z21; \
	VPDPBUSD Z26, Z29, Z22; \
	VPDPBUSD Z27, Z29, Z23; \
	ADDQ $4, SI; \
	ADDQ $4, R11; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNZ qvnni_loop; \
qvnni_done:

// func qgemmVNNI(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
TEXT ·qgemmVNNI(SB), NOSPLIT, $0-48
	MOVQ kg+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ t+40(FP), DX
	LEAQ (R8)(R8*2), R10
	LEAQ (SI)(R8*4), R11
	LEAQ (R9)(R9*2), R12
	QVNNI_DOT
	// the tile, row-major
	TILE_STORE
	VZEROUPPER
	RET

// QVNNI_CROW(z0, z1, z2, z3, ADD) stores one row of the tile into C at DX
// as dequantGo does: (acc − za·colSum) as float32, times sa·sw, plus the
// bias, then ADD (QVNNI_CSET: nothing; QVNNI_CADD: plus what DX held);
// colSum at AX, sw at BX, bias at R14, the row's za at R15 and sa at SI,
// which move to the next row with DX (R13 = ldc in bytes).
#define QVNNI_CROW(z0, z1, z2, z3, ADD) \
	VPBROADCASTD (R15), Z24; \
	VBROADCASTSS (SI), Z25; \
	VPMULLD 0(AX), Z24, Z26; \
	VPMULLD 64(AX), Z24, Z27; \
	VPMULLD 128(AX), Z24, Z28; \
	VPMULLD 192(AX), Z24, Z29; \
	VPSUBD Z26, z0, z0; \
	VPSUBD Z27, z1, z1; \
	VPSUBD Z28, z2, z2; \
	VPSUBD Z29, z3, z3; \
	VCVTDQ2PS z0, z0; \
	VCVTDQ2PS z1, z1; \
	VCVTDQ2PS z2, z2; \
	VCVTDQ2PS z3, z3; \
	VMULPS 0(BX), Z25, Z26; \
	VMULPS 64(BX), Z25, Z27; \
	VMULPS 128(BX), Z25, Z28; \
	VMULPS 192(BX), Z25, Z29; \
	VMULPS Z26, z0, z0; \
	VMULPS Z27, z1, z1; \
	VMULPS Z28, z2, z2; \
	VMULPS Z29, z3, z3; \
	VADDPS 0(R14), z0, z0; \
	VADDPS 64(R14), z1, z1; \
	VADDPS 128(R14), z2, z2; \
	VADDPS 192(R14), z3, z3; \
	ADD(z0, z1, z2, z3); \
	VMOVUPS z0, 0(DX); \
	VMOVUPS z1, 64(DX); \
	VMOVUPS z2, 128(DX); \
	VMOVUPS z3, 192(DX); \
	ADDQ R13, DX; \
	ADDQ $4, R15; \
	ADDQ $4, SI

#define QVNNI_CADD(z0, z1, z2, z3) \
	VADDPS 0(DX), z0, z0; \
	VADDPS 64(DX), z1, z1; \
	VADDPS 128(DX), z2, z2; \
	VADDPS 192(DX), z3, z3

#define QVNNI_CSET(z0, z1, z2, z3)

// func qgemmVNNIC(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw *float32, bias *float32, za *int32, sa *float32, addC int)
TEXT ·qgemmVNNIC(SB), NOSPLIT, $0-104
	MOVQ kg+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	LEAQ (R8)(R8*2), R10
	LEAQ (SI)(R8*4), R11
	LEAQ (R9)(R9*2), R12
	QVNNI_DOT
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R13
	SHLQ $2, R13
	MOVQ colSum+56(FP), AX
	MOVQ sw+64(FP), BX
	MOVQ bias+72(FP), R14
	MOVQ za+80(FP), R15
	MOVQ sa+88(FP), SI
	MOVQ addC+96(FP), CX
	TESTQ CX, CX
	JNZ qvnnic_add
	TILE_ROWS(QVNNI_CROW, QVNNI_CSET)
	VZEROUPPER
	RET
qvnnic_add:
	TILE_ROWS(QVNNI_CROW, QVNNI_CADD)
	VZEROUPPER
	RET

// QVNNI_F32ROW(z0, z1, z2, z3, ADD) stores one row of the tile (its four
// panels) as float32 at DX, (acc − off)·scl with off in Z24–Z27 and scl in
// Z28–Z31, then ADD (QVNNI_SET: nothing; QVNNI_ADD: times the row's
// factor at R14, plus what DX held), and moves DX and R14 to the next row.
#define QVNNI_F32ROW(z0, z1, z2, z3, ADD) \
	VPSUBD Z24, z0, z0; \
	VPSUBD Z25, z1, z1; \
	VPSUBD Z26, z2, z2; \
	VPSUBD Z27, z3, z3; \
	VCVTDQ2PS z0, z0; \
	VCVTDQ2PS z1, z1; \
	VCVTDQ2PS z2, z2; \
	VCVTDQ2PS z3, z3; \
	VMULPS Z28, z0, z0; \
	VMULPS Z29, z1, z1; \
	VMULPS Z30, z2, z2; \
	VMULPS Z31, z3, z3; \
	ADD(z0, z1, z2, z3); \
	VMOVUPS z0, 0(DX); \
	VMOVUPS z1, 64(DX); \
	VMOVUPS z2, 128(DX); \
	VMOVUPS z3, 192(DX); \
	ADDQ R13, DX; \
	ADDQ $4, R14

#define QVNNI_ADD(z0, z1, z2, z3) \
	VMULPS.BCST (R14), z0, z0; \
	VMULPS.BCST (R14), z1, z1; \
	VMULPS.BCST (R14), z2, z2; \
	VMULPS.BCST (R14), z3, z3; \
	VADDPS 0(DX), z0, z0; \
	VADDPS 64(DX), z1, z1; \
	VADDPS 128(DX), z2, z2; \
	VADDPS 192(DX), z3, z3

#define QVNNI_SET(z0, z1, z2, z3)

// func qdotVNNIF32(kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, rs *float32)
TEXT ·qdotVNNIF32(SB), NOSPLIT, $0-80
	MOVQ kg+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	LEAQ (R8)(R8*2), R10
	LEAQ (SI)(R8*4), R11
	LEAQ (R9)(R9*2), R12
	QVNNI_DOT
	MOVQ off+40(FP), AX
	MOVQ scl+48(FP), BX
	MOVQ s+56(FP), DX
	MOVQ lds+64(FP), R13
	VMOVDQU32 0(AX), Z24
	VMOVDQU32 64(AX), Z25
	VMOVDQU32 128(AX), Z26
	VMOVDQU32 192(AX), Z27
	VMOVUPS 0(BX), Z28
	VMOVUPS 64(BX), Z29
	VMOVUPS 128(BX), Z30
	VMOVUPS 192(BX), Z31
	MOVQ rs+72(FP), R14
	TESTQ R14, R14
	JNZ qdotf_add
	TILE_ROWS(QVNNI_F32ROW, QVNNI_SET)
	VZEROUPPER
	RET
qdotf_add:
	TILE_ROWS(QVNNI_F32ROW, QVNNI_ADD)
	VZEROUPPER
	RET

// Q2_F32ROW(y0, y1, ADD) stores one row of the 4×16 tile as float32 at
// DI, (acc − off)·scl with off at R9 and scl at R11, then ADD (Q2_SET:
// nothing; Q2_ADD: times the row's factor in Y15, plus what DI held).
#define Q2_F32ROW(y0, y1, ADD) \
	VPSUBD 0(R9), y0, y0; \
	VPSUBD 32(R9), y1, y1; \
	VCVTDQ2PS y0, y0; \
	VCVTDQ2PS y1, y1; \
	VMULPS 0(R11), y0, y0; \
	VMULPS 32(R11), y1, y1; \
	ADD(y0, y1); \
	VMOVUPS y0, 0(DI); \
	VMOVUPS y1, 32(DI)

#define Q2_ADD(y0, y1) \
	VMULPS Y15, y0, y0; \
	VMULPS Y15, y1, y1; \
	VADDPS 0(DI), y0, y0; \
	VADDPS 32(DI), y1, y1

#define Q2_SET(y0, y1)

// func qdotAVX2F32(kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, rs *float32)
//
// The 4×64 tile as four 4×16 ones on QAVX2_DOT, one per panel (ldb bytes
// apart), each written as qdotVNNIF32 writes its rows.
TEXT ·qdotAVX2F32(SB), NOSPLIT, $0-80
	MOVQ lda+16(FP), R8
	LEAQ (R8)(R8*2), R10
	MOVQ b+24(FP), DX
	MOVQ off+40(FP), R9
	MOVQ scl+48(FP), R11
	MOVQ s+56(FP), R12
	MOVQ lds+64(FP), R13
	MOVQ rs+72(FP), R14
	MOVQ $4, BX
q2panel:
	MOVQ kg+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ DX, DI
	QAVX2_DOT
	MOVQ R12, DI
	TESTQ R14, R14
	JNZ q2add
	Q2_F32ROW(Y0, Y1, Q2_SET)
	ADDQ R13, DI
	Q2_F32ROW(Y2, Y3, Q2_SET)
	ADDQ R13, DI
	Q2_F32ROW(Y4, Y5, Q2_SET)
	ADDQ R13, DI
	Q2_F32ROW(Y6, Y7, Q2_SET)
	JMP q2next
q2add:
	VBROADCASTSS 0(R14), Y15
	Q2_F32ROW(Y0, Y1, Q2_ADD)
	ADDQ R13, DI
	VBROADCASTSS 4(R14), Y15
	Q2_F32ROW(Y2, Y3, Q2_ADD)
	ADDQ R13, DI
	VBROADCASTSS 8(R14), Y15
	Q2_F32ROW(Y4, Y5, Q2_ADD)
	ADDQ R13, DI
	VBROADCASTSS 12(R14), Y15
	Q2_F32ROW(Y6, Y7, Q2_ADD)
q2next:
	ADDQ $64, R9
	ADDQ $64, R11
	ADDQ $64, R12
	ADDQ ldb+32(FP), DX
	DECQ BX
	JNZ q2panel
	VZEROUPPER
	RET

// func qMinMaxAVX2(x *float32, n int) (lo, hi float32)
TEXT ·qMinMaxAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	// 32 floats per iteration into four min/max pairs (Y0/Y1, Y4/Y5,
	// Y6/Y7, Y8/Y9): one pair was bound by VMINPS latency, 4 cycles per 8
	// floats. Each VMINPS/VMAXPS keeps the accumulator (its second
	// source) when x is NaN, so NaNs are skipped, and the accumulators,
	// which start at +0 and change only to values strictly beyond, never
	// hold -0 or NaN: merging them in any order gives the one-pair result.
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	MOVQ CX, DX
	SHRQ $5, DX
	JZ qminmax_merge
qminmax_loop4:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VMINPS Y0, Y2, Y0
	VMAXPS Y1, Y2, Y1
	VMINPS Y4, Y3, Y4
	VMAXPS Y5, Y3, Y5
	VMINPS Y6, Y10, Y6
	VMAXPS Y7, Y10, Y7
	VMINPS Y8, Y11, Y8
	VMAXPS Y9, Y11, Y9
	ADDQ $128, SI
	DECQ DX
	JNZ qminmax_loop4
qminmax_merge:
	VMINPS Y4, Y0, Y0
	VMAXPS Y5, Y1, Y1
	VMINPS Y8, Y6, Y6
	VMAXPS Y9, Y7, Y7
	VMINPS Y6, Y0, Y0
	VMAXPS Y7, Y1, Y1
	// The last n%32 floats, 8 at a time.
	ANDQ $31, CX
	SHRQ $3, CX
	JZ qminmax_reduce
qminmax_loop:
	VMOVUPS (SI), Y2
	VMINPS Y0, Y2, Y0
	VMAXPS Y1, Y2, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ qminmax_loop
qminmax_reduce:
	VEXTRACTF128 $1, Y0, X2
	VMINPS X0, X2, X0
	VEXTRACTF128 $1, Y1, X3
	VMAXPS X1, X3, X1
	VPERMILPS $0x4E, X0, X2
	VMINPS X0, X2, X0
	VPERMILPS $0x4E, X1, X3
	VMAXPS X1, X3, X1
	VPERMILPS $0xB1, X0, X2
	VMINPS X0, X2, X0
	VPERMILPS $0xB1, X1, X3
	VMAXPS X1, X3, X1
	VMOVSS X0, lo+16(FP)
	VMOVSS X1, hi+20(FP)
	VZEROUPPER
	RET

// func qQuantAVX2(dst *uint8, x *float32, n int, inv float32, zero int32)
TEXT ·qQuantAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y15
	// VEX encodings only: a legacy SSE MOVD after the VBROADCASTSS above
	// (upper halves of the ymm registers dirty) paid an AVX→SSE state
	// transition of ~250-400 ns per call on the Xeon (EMR, KVM guest)
	// measured — more than quantizing a 768-wide row takes.
	MOVL zero+28(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x7f7f7f7f, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VMOVDQU qPermIdx<>(SB), Y12
	SHRQ $5, CX
	JZ qquant_done
qquant_loop:
	VMULPS (SI), Y15, Y0
	VMULPS 32(SI), Y15, Y1
	VMULPS 64(SI), Y15, Y2
	VMULPS 96(SI), Y15, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y14, Y0, Y0
	VPADDD Y14, Y1, Y1
	VPADDD Y14, Y2, Y2
	VPADDD Y14, Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKUSWB Y2, Y0, Y0
	VPERMD Y0, Y12, Y0
	VPMINUB Y13, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	DECQ CX
	JNZ qquant_loop
qquant_done:
	VZEROUPPER
	RET

// func qDequantAVX2(dst *float32, acc *int32, colSum *int32, sw *float32, bias *float32, res *float32, n int, flags int, zero int32, sa float32)
// dequantGo for n a multiple of 8, 8 at a time; flags bit 0: bias, bit 1:
// res. One loop per flag value keeps the branches out of the loop.
TEXT ·qDequantAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ colSum+16(FP), DX
	MOVQ sw+24(FP), R8
	MOVQ bias+32(FP), R9
	MOVQ res+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ flags+56(FP), R10
	MOVL zero+64(FP), AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VBROADCASTSS sa+68(FP), Y14
	XORQ BX, BX
	SHRQ $3, CX
	JZ qdeq_done
	CMPQ R10, $1
	JEQ qdeq_b
	CMPQ R10, $2
	JEQ qdeq_r
	CMPQ R10, $3
	JEQ qdeq_br

#define QDEQ8 \
	VPMULLD (DX)(BX*1), Y15, Y0 \
	VMOVDQU (SI)(BX*1), Y1 \
	VPSUBD Y0, Y1, Y1 \
	VCVTDQ2PS Y1, Y1 \
	VMULPS (R8)(BX*1), Y14, Y2 \
	VMULPS Y2, Y1, Y1

qdeq_none:
	QDEQ8
	VMOVUPS Y1, (DI)(BX*1)
	ADDQ $32, BX
	DECQ CX
	JNZ qdeq_none
	JMP qdeq_done
qdeq_b:
	QDEQ8
	VADDPS (R9)(BX*1), Y1, Y1
	VMOVUPS Y1, (DI)(BX*1)
	ADDQ $32, BX
	DECQ CX
	JNZ qdeq_b
	JMP qdeq_done
qdeq_r:
	QDEQ8
	VADDPS (R11)(BX*1), Y1, Y1
	VMOVUPS Y1, (DI)(BX*1)
	ADDQ $32, BX
	DECQ CX
	JNZ qdeq_r
	JMP qdeq_done
qdeq_br:
	QDEQ8
	VADDPS (R9)(BX*1), Y1, Y1
	VADDPS (R11)(BX*1), Y1, Y1
	VMOVUPS Y1, (DI)(BX*1)
	ADDQ $32, BX
	DECQ CX
	JNZ qdeq_br
qdeq_done:
	VZEROUPPER
	RET

// func qDequantAVX512(dst *float32, acc *int32, colSum *int32, sw *float32, bias *float32, res *float32, n int, flags int, zero int32, sa float32)
// dequantGo for any n ≥ 1: 16 at a time, then the last n mod 16 under a
// mask (masked loads do not touch the lanes left out, so nothing past the
// slices is read or written). flags as qDequantAVX2's.
TEXT ·qDequantAVX512(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ colSum+16(FP), DX
	MOVQ sw+24(FP), R8
	MOVQ bias+32(FP), R9
	MOVQ res+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ flags+56(FP), R10
	MOVL zero+64(FP), AX
	VPBROADCASTD AX, Z15
	VBROADCASTSS sa+68(FP), Z14
	// K1: the tail's lanes.
	MOVQ CX, AX
	ANDQ $15, AX
	MOVL $1, R12
	SHLXL AX, R12, R12
	DECL R12
	KMOVW R12, K1
	XORQ BX, BX
	SHRQ $4, CX
	CMPQ R10, $1
	JEQ qdeqz_b
	CMPQ R10, $2
	JEQ qdeqz_r
	CMPQ R10, $3
	JEQ qdeqz_br

// QDEQ16 dequantises the lanes of mask k at byte offset BX into Z1
// (masked-off lanes zero).
#define QDEQ16(k) \
	VMOVDQU32.Z (DX)(BX*1), k, Z0 \
	VPMULLD Z0, Z15, Z0 \
	VMOVDQU32.Z (SI)(BX*1), k, Z1 \
	VPSUBD Z0, Z1, Z1 \
	VCVTDQ2PS Z1, Z1 \
	VMOVUPS.Z (R8)(BX*1), k, Z2 \
	VMULPS Z2, Z14, Z2 \
	VMULPS Z2, Z1, Z1

#define QADD16(k, p) \
	VMOVUPS.Z (p)(BX*1), k, Z3 \
	VADDPS Z3, Z1, Z1

// QDEQ16F and QADD16F are QDEQ16 and QADD16 for all 16 lanes at byte
// offset o from BX into v (t and s scratch), with the loads folded into
// the arithmetic. The loops take two blocks a step, then one, then the
// tail.
#define QDEQ16F(o, v, t, s) \
	VPMULLD o(DX)(BX*1), Z15, t \
	VMOVDQU32 o(SI)(BX*1), v \
	VPSUBD t, v, v \
	VCVTDQ2PS v, v \
	VMULPS o(R8)(BX*1), Z14, s \
	VMULPS s, v, v

#define QADD16F(o, p, v) \
	VADDPS o(p)(BX*1), v, v

qdeqz_none:
	CMPQ CX, $2
	JLT qdeqz_none_one
	QDEQ16F(0, Z1, Z0, Z2)
	VMOVUPS Z1, 0(DI)(BX*1)
	QDEQ16F(64, Z4, Z3, Z5)
	VMOVUPS Z4, 64(DI)(BX*1)
	ADDQ $128, BX
	SUBQ $2, CX
	JMP qdeqz_none
qdeqz_none_one:
	TESTQ CX, CX
	JZ qdeqz_none_tail
	QDEQ16F(0, Z1, Z0, Z2)
	VMOVUPS Z1, 0(DI)(BX*1)
	ADDQ $64, BX
qdeqz_none_tail:
	QDEQ16(K1)
	VMOVUPS Z1, K1, (DI)(BX*1)
	JMP qdeqz_done
qdeqz_b:
	CMPQ CX, $2
	JLT qdeqz_b_one
	QDEQ16F(0, Z1, Z0, Z2)
	QADD16F(0, R9, Z1)
	VMOVUPS Z1, 0(DI)(BX*1)
	QDEQ16F(64, Z4, Z3, Z5)
	QADD16F(64, R9, Z4)
	VMOVUPS Z4, 64(DI)(BX*1)
	ADDQ $128, BX
	SUBQ $2, CX
	JMP qdeqz_b
qdeqz_b_one:
	TESTQ CX, CX
	JZ qdeqz_b_tail
	QDEQ16F(0, Z1, Z0, Z2)
	QADD16F(0, R9, Z1)
	VMOVUPS Z1, 0(DI)(BX*1)
	ADDQ $64, BX
qdeqz_b_tail:
	QDEQ16(K1)
	QADD16(K1, R9)
	VMOVUPS Z1, K1, (DI)(BX*1)
	JMP qdeqz_done
qdeqz_r:
	CMPQ CX, $2
	JLT qdeqz_r_one
	QDEQ16F(0, Z1, Z0, Z2)
	QADD16F(0, R11, Z1)
	VMOVUPS Z1, 0(DI)(BX*1)
	QDEQ16F(64, Z4, Z3, Z5)
	QADD16F(64, R11, Z4)
	VMOVUPS Z4, 64(DI)(BX*1)
	ADDQ $128, BX
	SUBQ $2, CX
	JMP qdeqz_r
qdeqz_r_one:
	TESTQ CX, CX
	JZ qdeqz_r_tail
	QDEQ16F(0, Z1, Z0, Z2)
	QADD16F(0, R11, Z1)
	VMOVUPS Z1, 0(DI)(BX*1)
	ADDQ $64, BX
qdeqz_r_tail:
	QDEQ16(K1)
	QADD16(K1, R11)
	VMOVUPS Z1, K1, (DI)(BX*1)
	JMP qdeqz_done
qdeqz_br:
	CMPQ CX, $2
	JLT qdeqz_br_one
	QDEQ16F(0, Z1, Z0, Z2)
	QADD16F(0, R9, Z1)
	QADD16F(0, R11, Z1)
	VMOVUPS Z1, 0(DI)(BX*1)
	QDEQ16F(64, Z4, Z3, Z5)
	QADD16F(64, R9, Z4)
	QADD16F(64, R11, Z4)
	VMOVUPS Z4, 64(DI)(BX*1)
	ADDQ $128, BX
	SUBQ $2, CX
	JMP qdeqz_br
qdeqz_br_one:
	TESTQ CX, CX
	JZ qdeqz_br_tail
	QDEQ16F(0, Z1, Z0, Z2)
	QADD16F(0, R9, Z1)
	QADD16F(0, R11, Z1)
	VMOVUPS Z1, 0(DI)(BX*1)
	ADDQ $64, BX
qdeqz_br_tail:
	QDEQ16(K1)
	QADD16(K1, R9)
	QADD16(K1, R11)
	VMOVUPS Z1, K1, (DI)(BX*1)
qdeqz_done:
	VZEROUPPER
	RET
