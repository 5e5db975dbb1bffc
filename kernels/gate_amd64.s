//go:build gc && !purego

#include "exp_amd64.h"

// The sigmoid gate x·σ(a·x) = x / (1 + e^(−a·x)) in one pass: the same
// operations as sigmoidGateSpec with the level's exp (raised to lo), so the
// same bits, without its two scalar loops around the exp.

// func gateAVX2(dst, src []float32, na, lo float32)
TEXT ·gateAVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPCONST_AVX2
	VBROADCASTSS lo+52(FP), Y14
	VBROADCASTSS na+48(FP), Y5
	VBROADCASTSS expc<>+352(SB), Y6 // 1

loop:
	CMPQ    CX, $8
	JB      tail
	VMOVUPS (SI), Y4
	VMULPS  Y5, Y4, Y0
	EXP_AVX2(Y0, Y1, Y2, Y3)
	VADDPS  Y6, Y0, Y0
	VDIVPS  Y0, Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     loop

tail:
	TESTQ CX, CX
	JZ    done
	TAILMASK_AVX2(Y8)
	VMASKMOVPS (SI), Y8, Y4
	VMULPS     Y5, Y4, Y0
	EXP_AVX2(Y0, Y1, Y2, Y3)
	VADDPS     Y6, Y0, Y0
	VDIVPS     Y0, Y4, Y0
	VMASKMOVPS Y0, Y8, (DI)

done:
	VZEROUPPER
	RET

// func gateAVX512(dst, src []float32, na, lo float32)
TEXT ·gateAVX512(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPCONST_AVX512
	VBROADCASTSS lo+52(FP), Z16
	VBROADCASTSS na+48(FP), Z9
	VBROADCASTSS expc<>+352(SB), Z10 // 1

loop:
	CMPQ    CX, $16
	JB      tail
	VMOVUPS (SI), Z4
	VMULPS  Z9, Z4, Z0
	EXP_AVX512(Z0, Z1, Z2, Z3)
	VADDPS  Z10, Z0, Z0
	VDIVPS  Z0, Z4, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     loop

tail:
	TESTQ CX, CX
	JZ    done
	TAILMASK_AVX512
	VMOVUPS.Z (SI), K1, Z4
	VMULPS    Z9, Z4, Z0
	EXP_AVX512(Z0, Z1, Z2, Z3)
	VADDPS    Z10, Z0, Z0
	VDIVPS    Z0, Z4, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET
