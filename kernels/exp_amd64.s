//go:build gc && !purego

#include "exp_amd64.h"

// func expAVX2(dst, src []float32, lo float32)
TEXT ·expAVX2(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPCONST_AVX2
	VBROADCASTSS lo+48(FP), Y14

	// 8 lanes at a time.
loop:
	CMPQ CX, $8
	JB   tail
	VMOVUPS (SI), Y0
	EXP_AVX2(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop

	// The last 1..7 lanes, through a mask.
tail:
	TESTQ CX, CX
	JZ    done
	TAILMASK_AVX2(Y8)
	VMASKMOVPS (SI), Y8, Y0
	EXP_AVX2(Y0, Y1, Y2, Y3)
	VMASKMOVPS Y0, Y8, (DI)

done:
	VZEROUPPER
	RET

// func expAVX512(dst, src []float32, lo float32)
TEXT ·expAVX512(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPCONST_AVX512
	VBROADCASTSS lo+48(FP), Z16

	// 32 lanes at a time, two independent chains.
loop2:
	CMPQ CX, $32
	JB   loop
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z4
	EXP_AVX512(Z0, Z1, Z2, Z3)
	EXP_AVX512(Z4, Z5, Z6, Z7)
	VMOVUPS Z0, (DI)
	VMOVUPS Z4, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop2

	// 16 lanes.
loop:
	CMPQ CX, $16
	JB   tail
	VMOVUPS (SI), Z0
	EXP_AVX512(Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop

	// The last 1..15 lanes under mask K1.
tail:
	TESTQ CX, CX
	JZ    done
	TAILMASK_AVX512
	VMOVUPS.Z (SI), K1, Z0
	EXP_AVX512(Z0, Z1, Z2, Z3)
	VMOVUPS Z0, K1, (DI)

done:
	VZEROUPPER
	RET
