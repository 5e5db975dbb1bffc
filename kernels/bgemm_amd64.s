//go:build gc && !purego

#include "textflag.h"
#include "tile_amd64.h"

// BDOT_TILE is bgemmDotAVX512's loop: Z0–Z23 = the 6×64 float32 tile
// (row r, panel p in Z(4r+p)) over CX pairs of K, a at SI (rows R8 bytes
// apart; R10 = 3·R8, R11 = SI + 4·R8), b at DI (panels R9 bytes apart;
// R12 = 3·R9). Clobbers Z24–Z29.
#define BDOT_TILE \
	TILE_ZERO; \
	TESTQ CX, CX; \
	JZ bdot_done; \
bdot_loop:; \
	VMOVDQU32 (DI), Z24; \
	VMOVDQU32 (DI)(R9*1), Z25; \
	VMOVDQU32 (DI)(R9*2), Z26; \
	VMOVDQU32 (DI)(R12*1), Z27; \
	VPBROADCASTD (SI), Z28; \
	BYTE $0x62; BYTE $0x92; BYTE $0x3e; BYTE $0x40; BYTE $0x52; BYTE $0xc4; /* vdpbf16ps %zmm28, %zmm24, %zmm0 */ \
	BYTE $0x62; BYTE $0x92; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xcc; /* vdpbf16ps %zmm28, %zmm25, %zmm1 */ \
	BYTE $0x62; BYTE $0x92; BYTE $0x2e; BYTE $0x40; BYTE $0x52; BYTE $0xd4; /* vdpbf16ps %zmm28, %zmm26, %zmm2 */ \
	BYTE $0x62; BYTE $0x92; BYTE $0x26; BYTE $0x40; BYTE $0x52; BYTE $0xdc; /* vdpbf16ps %zmm28, %zmm27, %zmm3 */ \
	VPBROADCASTD (SI)(R8*1), Z29; \
	BYTE $0x62; BYTE $0x92; BYTE $0x3e; BYTE $0x40; BYTE $0x52; BYTE $0xe5; /* vdpbf16ps %zmm29, %zmm24, %zmm4 */ \
	BYTE $0x62; BYTE $0x92; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xed; /* vdpbf16ps %zmm29, %zmm25, %zmm5 */ \
	BYTE $0x62; BYTE $0x92; BYTE $0x2e; BYTE $0x40; BYTE $0x52; BYTE $0xf5; /* vdpbf16ps %zmm29, %zmm26, %zmm6 */ \
	BYTE $0x62; BYTE $0x92; BYTE $0x26; BYTE $0x40; BYTE $0x52; BYTE $0xfd; /* vdpbf16ps %zmm29, %zmm27, %zmm7 */ \
	VPBROADCASTD (SI)(R8*2), Z28; \
	BYTE $0x62; BYTE $0x12; BYTE $0x3e; BYTE $0x40; BYTE $0x52; BYTE $0xc4; /* vdpbf16ps %zmm28, %zmm24, %zmm8 */ \
	BYTE $0x62; BYTE $0x12; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xcc; /* vdpbf16ps %zmm28, %zmm25, %zmm9 */ \
	BYTE $0x62; BYTE $0x12; BYTE $0x2e; BYTE $0x40; BYTE $0x52; BYTE $0xd4; /* vdpbf16ps %zmm28, %zmm26, %zmm10 */ \
	BYTE $0x62; BYTE $0x12; BYTE $0x26; BYTE $0x40; BYTE $0x52; BYTE $0xdc; /* vdpbf16ps %zmm28, %zmm27, %zmm11 */ \
	VPBROADCASTD (SI)(R10*1), Z29; \
	BYTE $0x62; BYTE $0x12; BYTE $0x3e; BYTE $0x40; BYTE $0x52; BYTE $0xe5; /* vdpbf16ps %zmm29, %zmm24, %zmm12 */ \
	BYTE $0x62; BYTE $0x12; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xed; /* vdpbf16ps %zmm29, %zmm25, %zmm13 */ \
	BYTE $0x62; BYTE $0x12; BYTE $0x2e; BYTE $0x40; BYTE $0x52; BYTE $0xf5; /* vdpbf16ps %zmm29, %zmm26, %zmm14 */ \
	BYTE $0x62; BYTE $0x12; BYTE $0x26; BYTE $0x40; BYTE $0x52; BYTE $0xfd; /* vdpbf16ps %zmm29, %zmm27, %zmm15 */ \
	VPBROADCASTD (R11), Z28; \
	BYTE $0x62; BYTE $0x82; BYTE $0x3e; BYTE $0x40; BYTE $0x52; BYTE $0xc4; /* vdpbf16ps %zmm28, %zmm24, %zmm16 */ \
	BYTE $0x62; BYTE $0x82; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xcc; /* vdpbf16ps %zmm28, %zmm25, %zmm17 */ \
	BYTE $0x62; BYTE $0x82; BYTE $0x2e; BYTE $0x40; BYTE $0x52; BYTE $0xd4; /* vdpbf16ps %zmm28, %zmm26, %zmm18 */ \
	BYTE $0x62; BYTE $0x82; BYTE $0x26; BYTE $0x40; BYTE $0x52; BYTE $0xdc; /* vdpbf16ps %zmm28, %zmm27, %zmm19 */ \
	VPBROADCASTD (R11)(R8*1), Z29; \
	BYTE $0x62; BYTE $0x82; BYTE $0x3e; BYTE $0x40; BYTE $0x52; BYTE $0xe5; /* vdpbf16ps %zmm29, %zmm24, %zmm20 */ \
	BYTE $0x62; BYTE $0x82; BYTE $0x36; BYTE $0x40; BYTE $0x52; BYTE $0xed; /* vdpbf16ps %zmm29, %zmm25, %zmm21 */ \
	BYTE $0x62; BYTE $0x82; BYTE $0x2e; BYTE $0x40; BYTE $0x52; BYTE $0xf5; /* vdpbf16ps %zmm29, %zmm26, %zmm22 */ \
	BYTE $0x62; BYTE $0x82; BYTE $0x26; BYTE $0x40; BYTE $0x52; BYTE $0xfd; /* vdpbf16ps %zmm29, %zmm27, %zmm23 */ \
	ADDQ $4, SI; \
	ADDQ $4, R11; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNZ bdot_loop; \
bdot_done:

// BDOT_CROW(z0, z1, z2, z3, ADD) stores one row of the tile into C at DX
// as its sums plus the bias in Z24–Z27, then ADD (BDOT_CSET: nothing;
// BDOT_CADD: plus what DX held), and moves DX to the next row (R13 = ldc
// in bytes).
#define BDOT_CROW(z0, z1, z2, z3, ADD) \
	VADDPS Z24, z0, z0; \
	VADDPS Z25, z1, z1; \
	VADDPS Z26, z2, z2; \
	VADDPS Z27, z3, z3; \
	ADD(z0, z1, z2, z3); \
	VMOVUPS z0, 0(DX); \
	VMOVUPS z1, 64(DX); \
	VMOVUPS z2, 128(DX); \
	VMOVUPS z3, 192(DX); \
	ADDQ R13, DX

#define BDOT_CADD(z0, z1, z2, z3) \
	VADDPS 0(DX), z0, z0; \
	VADDPS 64(DX), z1, z1; \
	VADDPS 128(DX), z2, z2; \
	VADDPS 192(DX), z3, z3

#define BDOT_CSET(z0, z1, z2, z3)

// func bgemmDotAVX512(kpairs int, a *uint16, lda int, b *uint16, ldb int, t *float32)
// lda and ldb count uint16 elements.
TEXT ·bgemmDotAVX512(SB), NOSPLIT, $0-48
	MOVQ kpairs+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $1, R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	SHLQ $1, R9
	MOVQ t+40(FP), DX
	LEAQ (R8)(R8*2), R10
	LEAQ (SI)(R8*4), R11
	LEAQ (R9)(R9*2), R12
	BDOT_TILE
	TILE_STORE
	VZEROUPPER
	RET

// func bgemmDotAVX512C(kpairs int, a *uint16, lda int, b *uint16, ldb int, c *float32, ldc int, bias *float32, addC int)
// bgemmDotAVX512's 6×64 tile stored straight into C (ldc floats apart) as
// (acc + bias[j]), plus C's own value when addC ≠ 0: the bits of
// finishRow's Add of the bias and then of the residual C. lda and ldb
// count uint16 elements.
TEXT ·bgemmDotAVX512C(SB), NOSPLIT, $0-72
	MOVQ kpairs+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $1, R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	SHLQ $1, R9
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R13
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R10
	LEAQ (SI)(R8*4), R11
	LEAQ (R9)(R9*2), R12
	BDOT_TILE
	MOVQ bias+56(FP), AX
	VMOVUPS 0(AX), Z24
	VMOVUPS 64(AX), Z25
	VMOVUPS 128(AX), Z26
	VMOVUPS 192(AX), Z27
	MOVQ addC+64(FP), BX
	TESTQ BX, BX
	JNZ bdotc_add
	TILE_ROWS(BDOT_CROW, BDOT_CSET)
	VZEROUPPER
	RET
bdotc_add:
	TILE_ROWS(BDOT_CROW, BDOT_CADD)
	VZEROUPPER
	RET

// func bConvertAVX512(dst *uint16, src *float32, n int)
TEXT ·bConvertAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ bconv_done
bconv_loop:
	VMOVUPS (SI), Z0
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8 // vcvtneps2bf16 %zmm0, %ymm1
	VMOVDQU Y1, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNZ bconv_loop
bconv_done:
	VZEROUPPER
	RET
