//go:build gc && !purego

#include "textflag.h"

// func attnDotBF16AVX512(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int)
//
// t = a·B over 16·kb pairs of K in 8-row × 32-column tiles: for each pair,
// two B panels (16 columns × 2 k values each, ldb bytes apart) against
// eight rows of a (lda bytes apart) broadcast a pair at a time, with
// VDPBF16PS (written as BYTE sequences: the Go assembler lacks it); t rows
// ldt bytes apart. rows a multiple of 8, cols of 32, kb ≥ 1.
TEXT ·attnDotBF16AVX512(SB), NOSPLIT, $8-72
	MOVQ kb+0(FP), AX
	SHLQ $4, AX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ t+40(FP), DX
	MOVQ ldt+48(FP), R10
	LEAQ (R8)(R8*2), R14
	MOVQ rows+56(FP), R13
	MOVQ R13, left-8(SP)

bdot8_row:
	MOVQ DI, BX
	MOVQ cols+64(FP), R13
	SHRQ $5, R13

bdot8_col:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ SI, R11
	LEAQ (SI)(R8*4), R15
	MOVQ BX, R12
	MOVQ AX, CX

bdot8_pair:
	VMOVDQU32 (R12), Z16
	VMOVDQU32 (R12)(R9*1), Z17
	VPBROADCASTD (R11), Z18
	BYTE $0x62; BYTE $0xb2; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xc2 // vdpbf16ps %zmm18, %zmm16, %zmm0
	BYTE $0x62; BYTE $0xb2; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xca // vdpbf16ps %zmm18, %zmm17, %zmm1
	VPBROADCASTD (R11)(R8*1), Z19
	BYTE $0x62; BYTE $0xb2; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xd3 // vdpbf16ps %zmm19, %zmm16, %zmm2
	BYTE $0x62; BYTE $0xb2; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xdb // vdpbf16ps %zmm19, %zmm17, %zmm3
	VPBROADCASTD (R11)(R8*2), Z18
	BYTE $0x62; BYTE $0xb2; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xe2 // vdpbf16ps %zmm18, %zmm16, %zmm4
	BYTE $0x62; BYTE $0xb2; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xea // vdpbf16ps %zmm18, %zmm17, %zmm5
	VPBROADCASTD (R11)(R14*1), Z19
	BYTE $0x62; BYTE $0xb2; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xf3 // vdpbf16ps %zmm19, %zmm16, %zmm6
	BYTE $0x62; BYTE $0xb2; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xfb // vdpbf16ps %zmm19, %zmm17, %zmm7
	VPBROADCASTD (R15), Z18
	BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xc2 // vdpbf16ps %zmm18, %zmm16, %zmm8
	BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xca // vdpbf16ps %zmm18, %zmm17, %zmm9
	VPBROADCASTD (R15)(R8*1), Z19
	BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xd3 // vdpbf16ps %zmm19, %zmm16, %zmm10
	BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xdb // vdpbf16ps %zmm19, %zmm17, %zmm11
	VPBROADCASTD (R15)(R8*2), Z18
	BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xe2 // vdpbf16ps %zmm18, %zmm16, %zmm12
	BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xea // vdpbf16ps %zmm18, %zmm17, %zmm13
	VPBROADCASTD (R15)(R14*1), Z19
	BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x40; BYTE $0x52; BYTE $0xf3 // vdpbf16ps %zmm19, %zmm16, %zmm14
	BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x40; BYTE $0x52; BYTE $0xfb // vdpbf16ps %zmm19, %zmm17, %zmm15
	ADDQ $4, R11
	ADDQ $4, R15
	ADDQ $64, R12
	DECQ CX
	JNZ bdot8_pair
	MOVQ DX, R11
	VMOVUPS Z0, (R11)
	VMOVUPS Z1, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z2, (R11)
	VMOVUPS Z3, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z4, (R11)
	VMOVUPS Z5, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z6, (R11)
	VMOVUPS Z7, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z8, (R11)
	VMOVUPS Z9, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z10, (R11)
	VMOVUPS Z11, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z12, (R11)
	VMOVUPS Z13, 64(R11)
	ADDQ R10, R11
	VMOVUPS Z14, (R11)
	VMOVUPS Z15, 64(R11)
	ADDQ $128, DX
	LEAQ (BX)(R9*2), BX
	DECQ R13
	JNZ bdot8_col

	MOVQ cols+64(FP), CX
	SHLQ $2, CX
	SUBQ CX, DX
	LEAQ (DX)(R10*8), DX
	LEAQ (SI)(R8*8), SI
	SUBQ $8, left-8(SP)
	JNZ bdot8_row
	VZEROUPPER
	RET
