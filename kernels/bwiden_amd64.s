//go:build gc && !purego

#include "textflag.h"

// func bWidenAVX512(dst *float32, src *uint16, pairs int)
// widenPairsGo for pairs ≥ 1 pairs: each 64-byte pair row of a bfloat16
// panel (16 columns × k0,k1 interleaved, one dword per column) becomes
// row k0 (the low halves shifted into the top: VPSLLD 16) and row k1 (the
// high halves with the low ones cleared: VPANDD 0xffff0000), both exact.
TEXT ·bWidenAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ pairs+16(FP), CX
	MOVL $0xffff0000, AX
	VPBROADCASTD AX, Z31
	// Two pairs per iteration: two independent load → shift/and → store
	// chains, 128 bytes in, 256 bytes out.
	MOVQ CX, BX
	SHRQ $1, BX
	JZ bw512_one
bw512_loop2:
	VMOVDQU32 (SI), Z0
	VMOVDQU32 64(SI), Z1
	VPSLLD $16, Z0, Z2
	VPANDD Z31, Z0, Z3
	VPSLLD $16, Z1, Z4
	VPANDD Z31, Z1, Z5
	VMOVUPS Z2, (DI)
	VMOVUPS Z3, 64(DI)
	VMOVUPS Z4, 128(DI)
	VMOVUPS Z5, 192(DI)
	ADDQ $128, SI
	ADDQ $256, DI
	DECQ BX
	JNZ bw512_loop2
bw512_one:
	// An odd last pair.
	TESTQ $1, CX
	JZ bw512_done
	VMOVDQU32 (SI), Z0
	VPSLLD $16, Z0, Z2
	VPANDD Z31, Z0, Z3
	VMOVUPS Z2, (DI)
	VMOVUPS Z3, 64(DI)
bw512_done:
	VZEROUPPER
	RET

// func bWidenAVX2(dst *float32, src *uint16, pairs int)
// bWidenAVX512 in ymm halves: per pair, columns 0-7 and 8-15 are widened
// separately (VPSLLD 16 → row k0, VPAND 0xffff0000 → row k1).
TEXT ·bWidenAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ pairs+16(FP), CX
	MOVL $0xffff0000, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
bw2_loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VPSLLD $16, Y0, Y2
	VPSLLD $16, Y1, Y3
	VPAND Y15, Y0, Y4
	VPAND Y15, Y1, Y5
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ bw2_loop
	VZEROUPPER
	RET
