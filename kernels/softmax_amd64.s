//go:build gc && !purego

#include "exp_amd64.h"

// Registers in this file: SI src, DI dst, BX bias (or the zero table), R9 the
// bias step (0 without a bias), CX lanes left. AVX2: Y13 scale, Y12 shift,
// Y11 -Inf, Y14/Y15 exp clamps, Y8 tail mask. AVX-512: Z29 scale, Z30 shift,
// Z31 -Inf, Z16-Z28 exp constants, K1 tail mask, K7 EXPFLUSH_AVX512's.

// BIAS sets BX to the bias, or to a block of zeros with step R9 = 0 when
// the bias is empty.
#define BIAS(base, len, step) \
	MOVQ base, BX; \
	MOVQ $step, R9; \
	XORQ AX, AX; \
	LEAQ expc<>+EXPC_ZERO(SB), R10; \
	CMPQ len, $0; \
	CMOVQEQ R10, BX; \
	CMOVQEQ AX, R9

// U8ROWMAX, in softmaxU8BlockAVX2 and softmaxU8BlockAVX512 after a row's
// MAX: bm[DX] = the block's row maximum X4, mold[DX] = m[DX], m[DX] = the
// larger; then X4 = the shift, X4 or 0 while it is -Inf (every term is
// then -Inf or NaN, and so is its exponential: 0, or a NaN sum). Clobbers
// AX, R8, R10, X6, X7.
#define U8ROWMAX \
	MOVQ bm+88(FP), R8; \
	VMOVSS X4, (R8)(DX*4); \
	MOVQ m+72(FP), R8; \
	VMOVSS (R8)(DX*4), X6; \
	MOVQ mold+80(FP), R10; \
	VMOVSS X6, (R10)(DX*4); \
	VMAXSS X6, X4, X7; \
	VMOVSS X7, (R8)(DX*4); \
	VMOVD X4, AX; \
	CMPL AX, $0xff800000; \
	JNE 2(PC); \
	VXORPS X4, X4, X4

// ---- AVX2 ----

// MAX_AVX2: X4 = max over the row of scale·src + bias.
#define MAX_AVX2 \
	VMOVAPS Y11, Y4; \
maxloop: \
	CMPQ CX, $8; \
	JB maxtail; \
	VMOVUPS (SI), Y0; \
	VFMADD213PS (BX), Y13, Y0; \
	VMAXPS Y0, Y4, Y4; \
	ADDQ $32, SI; \
	ADDQ R9, BX; \
	SUBQ $8, CX; \
	JMP maxloop; \
maxtail: \
	TESTQ CX, CX; \
	JZ maxdone; \
	TAILMASK_AVX2(Y8); \
	VMASKMOVPS (SI), Y8, Y0; \
	VMASKMOVPS (BX), Y8, Y1; \
	VFMADD213PS Y1, Y13, Y0; \
	VBLENDVPS Y8, Y0, Y11, Y0; \
	VMAXPS Y0, Y4, Y4; \
maxdone: \
	HREDUCE_AVX2(VMAXPS, Y4, X4, X5)

// EXPSUM_AVX2: dst = e^(scale·src + bias - shift), X5 = its sum; each
// step also prefetches R13 bytes ahead of src and dst and R14 ahead of the
// bias (the next row's, or 0).
#define EXPSUM_AVX2 \
	VXORPS Y5, Y5, Y5; \
exploop: \
	CMPQ CX, $8; \
	JB exptail; \
	VMOVUPS (SI), Y0; \
	PREFETCHT0 (SI)(R13*1); \
	PREFETCHT0 (DI)(R13*1); \
	PREFETCHT0 (BX)(R14*1); \
	VFMADD213PS (BX), Y13, Y0; \
	VSUBPS Y12, Y0, Y0; \
	EXPFAST_AVX2(Y0, Y1, Y2, Y3, Y10); \
	VMOVUPS Y0, (DI); \
	VADDPS Y0, Y5, Y5; \
	ADDQ $32, SI; \
	ADDQ $32, DI; \
	ADDQ R9, BX; \
	SUBQ $8, CX; \
	JMP exploop; \
exptail: \
	TESTQ CX, CX; \
	JZ expdone; \
	TAILMASK_AVX2(Y8); \
	VMASKMOVPS (SI), Y8, Y0; \
	VMASKMOVPS (BX), Y8, Y1; \
	VFMADD213PS Y1, Y13, Y0; \
	VSUBPS Y12, Y0, Y0; \
	EXPFAST_AVX2(Y0, Y1, Y2, Y3, Y10); \
	VMASKMOVPS Y0, Y8, (DI); \
	VANDPS Y8, Y0, Y0; \
	VADDPS Y0, Y5, Y5; \
expdone: \
	HREDUCE_AVX2(VADDPS, Y5, X5, X6)

// SCALE_AVX2: dst *= Y6.
#define SCALE_AVX2 \
scaleloop: \
	CMPQ CX, $8; \
	JB scaletail; \
	VMULPS (DI), Y6, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ $32, DI; \
	SUBQ $8, CX; \
	JMP scaleloop; \
scaletail: \
	TESTQ CX, CX; \
	JZ scaledone; \
	TAILMASK_AVX2(Y8); \
	VMASKMOVPS (DI), Y8, Y0; \
	VMULPS Y6, Y0, Y0; \
	VMASKMOVPS Y0, Y8, (DI); \
scaledone:

// MAXNB_AVX2: X4 = max of src (no bias; the caller scales it).
#define MAXNB_AVX2 \
	VMOVAPS Y11, Y4; \
	VMOVAPS Y11, Y9; \
nbmaxloop2: \
	CMPQ CX, $16; \
	JB nbmaxloop; \
	VMAXPS (SI), Y4, Y4; \
	VMAXPS 32(SI), Y9, Y9; \
	ADDQ $64, SI; \
	SUBQ $16, CX; \
	JMP nbmaxloop2; \
nbmaxloop: \
	CMPQ CX, $8; \
	JB nbmaxtail; \
	VMAXPS (SI), Y4, Y4; \
	ADDQ $32, SI; \
	SUBQ $8, CX; \
nbmaxtail: \
	TESTQ CX, CX; \
	JZ nbmaxdone; \
	TAILMASK_AVX2(Y8); \
	VMASKMOVPS (SI), Y8, Y0; \
	VBLENDVPS Y8, Y0, Y11, Y0; \
	VMAXPS Y0, Y4, Y4; \
nbmaxdone: \
	VMAXPS Y9, Y4, Y4; \
	HREDUCE_AVX2(VMAXPS, Y4, X4, X5)

// EXPSUMNB_AVX2: dst = e^(scale·src - shift) with Y12 = -shift, one FMA
// each, X5 = its sum; prefetching as EXPSUM_AVX2.
#define EXPSUMNB_AVX2 \
	VXORPS Y5, Y5, Y5; \
nbexploop: \
	CMPQ CX, $8; \
	JB nbexptail; \
	VMOVUPS (SI), Y0; \
	PREFETCHT0 (SI)(R13*1); \
	PREFETCHT0 (DI)(R13*1); \
	VFMADD213PS Y12, Y13, Y0; \
	EXPFAST_AVX2(Y0, Y1, Y2, Y3, Y10); \
	VMOVUPS Y0, (DI); \
	VADDPS Y0, Y5, Y5; \
	ADDQ $32, SI; \
	ADDQ $32, DI; \
	SUBQ $8, CX; \
	JMP nbexploop; \
nbexptail: \
	TESTQ CX, CX; \
	JZ nbexpdone; \
	TAILMASK_AVX2(Y8); \
	VMASKMOVPS (SI), Y8, Y0; \
	VFMADD213PS Y12, Y13, Y0; \
	EXPFAST_AVX2(Y0, Y1, Y2, Y3, Y10); \
	VMASKMOVPS Y0, Y8, (DI); \
	VANDPS Y8, Y0, Y0; \
	VADDPS Y0, Y5, Y5; \
nbexpdone: \
	HREDUCE_AVX2(VADDPS, Y5, X5, X6)

// func softmaxRowAVX2(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32
TEXT ·softmaxRowAVX2(SB), NOSPLIT, $0-100
	MOVQ ahead+80(FP), R13
	MOVQ aheadBias+88(FP), R14
	EXPFASTCONST_AVX2
	VBROADCASTSS scale+72(FP), Y13
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Y11
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX

	// Without a bias and with scale > 0, max(scale·x) = scale·max(x) and
	// scale·x - max is one FMA: a shorter path.
	CMPQ     bias_len+56(FP), $0
	JNE      general
	VXORPS   X0, X0, X0
	VUCOMISS X0, X13
	JBE      general
	MAXNB_AVX2
	VMULSS   X13, X4, X4
	VMOVSS   X4, ret+96(FP)
	VUCOMISS expc<>+EXPC_NEGINF(SB), X4
	JPS      nbpass2
	JEQ      done

nbpass2:
	VXORPS       expc<>+EXPC_NEGZERO(SB), X4, X0
	VBROADCASTSS X0, Y12
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_base+24(FP), SI
	MOVQ         src_len+32(FP), CX
	EXPSUMNB_AVX2
	JMP          pass3

general:
	BIAS(bias_base+48(FP), bias_len+56(FP), 32)
	MOVQ BX, R12

	// Pass 1: the maximum; a row with no finite entry stops here.
	MAX_AVX2
	VMOVSS   X4, ret+96(FP)
	VUCOMISS expc<>+EXPC_NEGINF(SB), X4
	JPS      pass2
	JEQ      done

	// Pass 2: exponentials and their sum.
pass2:
	VBROADCASTSS X4, Y12
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_base+24(FP), SI
	MOVQ         src_len+32(FP), CX
	MOVQ         R12, BX
	EXPSUM_AVX2

	// Pass 3: times 1/sum.
pass3:
	VMOVSS       expc<>+352(SB), X6
	VDIVSS       X5, X6, X6
	VBROADCASTSS X6, Y6
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_len+32(FP), CX
	SCALE_AVX2

done:
	VZEROUPPER
	RET

// func softmaxMaxAVX2(src, bias []float32, scale float32) float32
TEXT ·softmaxMaxAVX2(SB), NOSPLIT, $0-60
	VBROADCASTSS scale+48(FP), Y13
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Y11
	BIAS(bias_base+24(FP), bias_len+32(FP), 32)
	MOVQ src_base+0(FP), SI
	MOVQ src_len+8(FP), CX
	MAX_AVX2
	VMOVSS X4, ret+56(FP)
	VZEROUPPER
	RET

// func softmaxExpAVX2(dst, src, bias []float32, scale, shift float32) float32
TEXT ·softmaxExpAVX2(SB), NOSPLIT, $0-84
	XORQ R13, R13
	XORQ R14, R14
	EXPFASTCONST_AVX2
	VBROADCASTSS scale+72(FP), Y13
	VBROADCASTSS shift+76(FP), Y12
	BIAS(bias_base+48(FP), bias_len+56(FP), 32)
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPSUM_AVX2
	VMOVSS X5, ret+80(FP)
	VZEROUPPER
	RET

// ---- AVX-512 ----

// MAX_AVX512: X4 = max over the row of scale·src + bias, four
// accumulators deep (VMAXPS latency would bound one).
#define MAX_AVX512 \
	VMOVAPS Z31, Z4; \
	VMOVAPS Z31, Z8; \
	VMOVAPS Z31, Z9; \
	VMOVAPS Z31, Z10; \
maxloop4: \
	CMPQ CX, $64; \
	JB maxloop; \
	VMOVUPS (SI), Z0; \
	VMOVUPS 64(SI), Z1; \
	VMOVUPS 128(SI), Z2; \
	VMOVUPS 192(SI), Z3; \
	VFMADD213PS (BX), Z29, Z0; \
	ADDQ R9, BX; \
	VFMADD213PS (BX), Z29, Z1; \
	ADDQ R9, BX; \
	VFMADD213PS (BX), Z29, Z2; \
	ADDQ R9, BX; \
	VFMADD213PS (BX), Z29, Z3; \
	ADDQ R9, BX; \
	VMAXPS Z0, Z4, Z4; \
	VMAXPS Z1, Z8, Z8; \
	VMAXPS Z2, Z9, Z9; \
	VMAXPS Z3, Z10, Z10; \
	ADDQ $256, SI; \
	SUBQ $64, CX; \
	JMP maxloop4; \
maxloop: \
	CMPQ CX, $16; \
	JB maxtail; \
	VMOVUPS (SI), Z0; \
	VFMADD213PS (BX), Z29, Z0; \
	VMAXPS Z0, Z4, Z4; \
	ADDQ $64, SI; \
	ADDQ R9, BX; \
	SUBQ $16, CX; \
	JMP maxloop; \
maxtail: \
	TESTQ CX, CX; \
	JZ maxdone; \
	TAILMASK_AVX512; \
	VMOVUPS.Z (SI), K1, Z0; \
	VMOVUPS.Z (BX), K1, Z1; \
	VFMADD213PS Z1, Z29, Z0; \
	VMAXPS Z0, Z4, K1, Z4; \
maxdone: \
	VMAXPS Z8, Z4, Z4; \
	VMAXPS Z10, Z9, Z9; \
	VMAXPS Z9, Z4, Z4; \
	HREDUCE_AVX512(VMAXPS, Z4, Y4, X4, Y5, X5)

// EXPROW_AVX512: Z0 = e^(Z29·x + b − Z30) for the 16 floats x at SI and
// b at BX (EXPFLUSH_AVX512's exp); clobbers Z1–Z3, K7.
#define EXPROW_AVX512 \
	VMOVUPS (SI), Z0; \
	VFMADD213PS (BX), Z29, Z0; \
	VSUBPS Z30, Z0, Z0; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3)

// EXPROWTAIL_AVX512 is EXPROW_AVX512 for the lanes of K1 (the others' x
// and b read as 0).
#define EXPROWTAIL_AVX512 \
	VMOVUPS.Z (SI), K1, Z0; \
	VMOVUPS.Z (BX), K1, Z1; \
	VFMADD213PS Z1, Z29, Z0; \
	VSUBPS Z30, Z0, Z0; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3)

// EXPSUM_AVX512: as EXPSUM_AVX2, two vectors at a time (two chains for
// the out-of-order core to overlap).
#define EXPSUM_AVX512 \
	VXORPS Z5, Z5, Z5; \
	VXORPS Z12, Z12, Z12; \
exploop2: \
	CMPQ CX, $32; \
	JB exploop; \
	VMOVUPS (SI), Z0; \
	VMOVUPS 64(SI), Z8; \
	PREFETCHT0 (SI)(R13*1); \
	PREFETCHT0 64(SI)(R13*1); \
	PREFETCHT0 (DI)(R13*1); \
	PREFETCHT0 64(DI)(R13*1); \
	PREFETCHT0 (BX)(R14*1); \
	VFMADD213PS (BX), Z29, Z0; \
	ADDQ R9, BX; \
	PREFETCHT0 (BX)(R14*1); \
	VFMADD213PS (BX), Z29, Z8; \
	ADDQ R9, BX; \
	VSUBPS Z30, Z0, Z0; \
	VSUBPS Z30, Z8, Z8; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3); \
	EXPFLUSH_AVX512(Z8, Z9, Z10, Z11); \
	VMOVUPS Z0, (DI); \
	VMOVUPS Z8, 64(DI); \
	VADDPS Z0, Z5, Z5; \
	VADDPS Z8, Z12, Z12; \
	ADDQ $128, SI; \
	ADDQ $128, DI; \
	SUBQ $32, CX; \
	JMP exploop2; \
exploop: \
	CMPQ CX, $16; \
	JB exptail; \
	EXPROW_AVX512; \
	VMOVUPS Z0, (DI); \
	VADDPS Z0, Z5, Z5; \
	ADDQ $64, SI; \
	ADDQ $64, DI; \
	ADDQ R9, BX; \
	SUBQ $16, CX; \
	JMP exploop; \
exptail: \
	TESTQ CX, CX; \
	JZ expdone; \
	TAILMASK_AVX512; \
	EXPROWTAIL_AVX512; \
	VMOVUPS Z0, K1, (DI); \
	VADDPS Z0, Z5, K1, Z5; \
expdone: \
	VADDPS Z12, Z5, Z5; \
	HREDUCE_AVX512(VADDPS, Z5, Y5, X5, Y6, X6)

// SCALE_AVX512: dst *= Z6.
#define SCALE_AVX512 \
scaleloop: \
	CMPQ CX, $16; \
	JB scaletail; \
	VMULPS (DI), Z6, Z0; \
	VMOVUPS Z0, (DI); \
	ADDQ $64, DI; \
	SUBQ $16, CX; \
	JMP scaleloop; \
scaletail: \
	TESTQ CX, CX; \
	JZ scaledone; \
	TAILMASK_AVX512; \
	VMOVUPS.Z (DI), K1, Z0; \
	VMULPS Z6, Z0, Z0; \
	VMOVUPS Z0, K1, (DI); \
scaledone:

// MAXNB_AVX512: X4 = max of src (no bias; the caller scales it).
#define MAXNB_AVX512 \
	VMOVAPS Z31, Z4; \
	VMOVAPS Z31, Z8; \
nbmaxloop2: \
	CMPQ CX, $32; \
	JB nbmaxloop; \
	VMAXPS (SI), Z4, Z4; \
	VMAXPS 64(SI), Z8, Z8; \
	ADDQ $128, SI; \
	SUBQ $32, CX; \
	JMP nbmaxloop2; \
nbmaxloop: \
	CMPQ CX, $16; \
	JB nbmaxtail; \
	VMAXPS (SI), Z4, Z4; \
	ADDQ $64, SI; \
	SUBQ $16, CX; \
nbmaxtail: \
	TESTQ CX, CX; \
	JZ nbmaxdone; \
	TAILMASK_AVX512; \
	VMOVAPS Z31, Z0; \
	VMOVUPS (SI), K1, Z0; \
	VMAXPS Z0, Z4, Z4; \
nbmaxdone: \
	VMAXPS Z8, Z4, Z4; \
	HREDUCE_AVX512(VMAXPS, Z4, Y4, X4, Y5, X5)

// EXPSUMNB_AVX512: dst = e^(scale·src - shift) with Z30 = -shift, one FMA
// each, X5 = its sum; prefetching as EXPSUM_AVX2.
#define EXPSUMNB_AVX512 \
	VXORPS Z5, Z5, Z5; \
	VXORPS Z12, Z12, Z12; \
nbexploop2: \
	CMPQ CX, $32; \
	JB nbexploop; \
	VMOVUPS (SI), Z0; \
	VMOVUPS 64(SI), Z8; \
	PREFETCHT0 (SI)(R13*1); \
	PREFETCHT0 64(SI)(R13*1); \
	PREFETCHT0 (DI)(R13*1); \
	PREFETCHT0 64(DI)(R13*1); \
	VFMADD213PS Z30, Z29, Z0; \
	VFMADD213PS Z30, Z29, Z8; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3); \
	EXPFLUSH_AVX512(Z8, Z9, Z10, Z11); \
	VMOVUPS Z0, (DI); \
	VMOVUPS Z8, 64(DI); \
	VADDPS Z0, Z5, Z5; \
	VADDPS Z8, Z12, Z12; \
	ADDQ $128, SI; \
	ADDQ $128, DI; \
	SUBQ $32, CX; \
	JMP nbexploop2; \
nbexploop: \
	CMPQ CX, $16; \
	JB nbexptail; \
	VMOVUPS (SI), Z0; \
	VFMADD213PS Z30, Z29, Z0; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3); \
	VMOVUPS Z0, (DI); \
	VADDPS Z0, Z5, Z5; \
	ADDQ $64, SI; \
	ADDQ $64, DI; \
	SUBQ $16, CX; \
nbexptail: \
	TESTQ CX, CX; \
	JZ nbexpdone; \
	TAILMASK_AVX512; \
	VMOVUPS.Z (SI), K1, Z0; \
	VFMADD213PS Z30, Z29, Z0; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3); \
	VMOVUPS Z0, K1, (DI); \
	VADDPS Z0, Z5, K1, Z5; \
nbexpdone: \
	VADDPS Z12, Z5, Z5; \
	HREDUCE_AVX512(VADDPS, Z5, Y5, X5, Y6, X6)

// func softmaxRowAVX512(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32
TEXT ·softmaxRowAVX512(SB), NOSPLIT, $0-100
	MOVQ ahead+80(FP), R13
	MOVQ aheadBias+88(FP), R14
	EXPFLUSHCONST_AVX512
	VBROADCASTSS scale+72(FP), Z29
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Z31
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX

	// Without a bias and with scale > 0, max(scale·x) = scale·max(x) and
	// scale·x - max is one FMA: a shorter path.
	CMPQ     bias_len+56(FP), $0
	JNE      general
	VXORPS   X0, X0, X0
	VUCOMISS X0, X29
	JBE      general
	MAXNB_AVX512
	VMULSS   X29, X4, X4
	VMOVSS   X4, ret+96(FP)
	VUCOMISS expc<>+EXPC_NEGINF(SB), X4
	JPS      nbpass2
	JEQ      done

nbpass2:
	VXORPS       expc<>+EXPC_NEGZERO(SB), X4, X0
	VBROADCASTSS X0, Z30
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_base+24(FP), SI
	MOVQ         src_len+32(FP), CX
	EXPSUMNB_AVX512
	JMP          pass3

general:
	BIAS(bias_base+48(FP), bias_len+56(FP), 64)
	MOVQ BX, R12

	// Pass 1: the maximum; a row with no finite entry stops here.
	MAX_AVX512
	VMOVSS   X4, ret+96(FP)
	VUCOMISS expc<>+EXPC_NEGINF(SB), X4
	JPS      pass2
	JEQ      done

	// Pass 2: exponentials and their sum.
pass2:
	VBROADCASTSS X4, Z30
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_base+24(FP), SI
	MOVQ         src_len+32(FP), CX
	MOVQ         R12, BX
	EXPSUM_AVX512

	// Pass 3: times 1/sum.
pass3:
	VMOVSS       expc<>+352(SB), X6
	VDIVSS       X5, X6, X6
	VBROADCASTSS X6, Z6
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_len+32(FP), CX
	SCALE_AVX512

done:
	VZEROUPPER
	RET

// func softmaxMaxAVX512(src, bias []float32, scale float32) float32
TEXT ·softmaxMaxAVX512(SB), NOSPLIT, $0-60
	VBROADCASTSS scale+48(FP), Z29
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Z31
	BIAS(bias_base+24(FP), bias_len+32(FP), 64)
	MOVQ src_base+0(FP), SI
	MOVQ src_len+8(FP), CX
	MAX_AVX512
	VMOVSS X4, ret+56(FP)
	VZEROUPPER
	RET

// func softmaxExpAVX512(dst, src, bias []float32, scale, shift float32) float32
TEXT ·softmaxExpAVX512(SB), NOSPLIT, $0-84
	XORQ R13, R13
	XORQ R14, R14
	EXPFLUSHCONST_AVX512
	VBROADCASTSS scale+72(FP), Z29
	VBROADCASTSS shift+76(FP), Z30
	BIAS(bias_base+48(FP), bias_len+56(FP), 64)
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPSUM_AVX512
	VMOVSS X5, ret+80(FP)
	VZEROUPPER
	RET

// EXPSUM_BF16_AVX512: as EXPSUM_AVX512, dst rounded to bfloat16
// (VCVTNEPS2BF16, written as bytes: the Go assembler lacks it; f2 … c8 is
// vcvtneps2bf16 %zmm0, %ymm1, 52 … c8 is vcvtneps2bf16 %zmm8, %ymm9) and the
// sum over the float32 values; the tail writes a whole vector of 16 with
// zeros past the row.
#define EXPSUM_BF16_AVX512 \
	VXORPS Z5, Z5, Z5; \
	VXORPS Z12, Z12, Z12; \
bexploop2: \
	CMPQ CX, $32; \
	JB bexploop; \
	VMOVUPS (SI), Z0; \
	VMOVUPS 64(SI), Z8; \
	VFMADD213PS (BX), Z29, Z0; \
	ADDQ R9, BX; \
	VFMADD213PS (BX), Z29, Z8; \
	ADDQ R9, BX; \
	VSUBPS Z30, Z0, Z0; \
	VSUBPS Z30, Z8, Z8; \
	EXPFLUSH_AVX512(Z0, Z1, Z2, Z3); \
	EXPFLUSH_AVX512(Z8, Z9, Z10, Z11); \
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8; \
	BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8; \
	VMOVDQU Y1, (DI); \
	VMOVDQU Y9, 32(DI); \
	VADDPS Z0, Z5, Z5; \
	VADDPS Z8, Z12, Z12; \
	ADDQ $128, SI; \
	ADDQ $64, DI; \
	SUBQ $32, CX; \
	JMP bexploop2; \
bexploop: \
	CMPQ CX, $16; \
	JB bexptail; \
	EXPROW_AVX512; \
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8; \
	VMOVDQU Y1, (DI); \
	VADDPS Z0, Z5, Z5; \
	ADDQ $64, SI; \
	ADDQ $32, DI; \
	ADDQ R9, BX; \
	SUBQ $16, CX; \
	JMP bexploop; \
bexptail: \
	TESTQ CX, CX; \
	JZ bexpdone; \
	TAILMASK_AVX512; \
	EXPROWTAIL_AVX512; \
	VMOVAPS.Z Z0, K1, Z0; \
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8; \
	VMOVDQU Y1, (DI); \
	VADDPS Z0, Z5, Z5; \
bexpdone: \
	VADDPS Z12, Z5, Z5; \
	HREDUCE_AVX512(VADDPS, Z5, Y5, X5, Y6, X6)

// func softmaxExpBF16AVX512(dst []uint16, src, bias []float32, scale, shift float32) float32
TEXT ·softmaxExpBF16AVX512(SB), NOSPLIT, $0-84
	EXPFLUSHCONST_AVX512
	VBROADCASTSS scale+72(FP), Z29
	VBROADCASTSS shift+76(FP), Z30
	BIAS(bias_base+48(FP), bias_len+56(FP), 64)
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	EXPSUM_BF16_AVX512
	VMOVSS X5, ret+80(FP)
	VZEROUPPER
	RET

// U8STORE_AVX512 adds Z0 to Z12, stores round(255·Z0) (255 in Z15) as 16
// bytes at DI and adds the rounded values to Z5.
#define U8STORE_AVX512 \
	VADDPS Z0, Z12, Z12; \
	VMULPS Z15, Z0, Z0; \
	VCVTPS2DQ Z0, Z0; \
	VPADDD Z0, Z5, Z5; \
	VPMOVUSDB Z0, X0; \
	VMOVDQU X0, (DI)

// EXPSUM_U8_AVX512: dst (DI) = round(255·e^(Z29·src + bias − Z30)) as
// bytes for CX floats at SI (bias at BX, R9 bytes per vector), whole
// vectors of 16 (the tail's lanes 0); X5 = the bytes' sum (exact as a
// float32 below 2²⁴), X12 = the exponentials' sum. Needs
// EXPFLUSHCONST_AVX512 and 255 in Z15.
#define EXPSUM_U8_AVX512 \
	VPXORD Z5, Z5, Z5; \
	VXORPS Z12, Z12, Z12; \
u8loop: \
	CMPQ CX, $16; \
	JB u8tail; \
	EXPROW_AVX512; \
	U8STORE_AVX512; \
	ADDQ $64, SI; \
	ADDQ $16, DI; \
	ADDQ R9, BX; \
	SUBQ $16, CX; \
	JMP u8loop; \
u8tail: \
	TESTQ CX, CX; \
	JZ u8done; \
	TAILMASK_AVX512; \
	EXPROWTAIL_AVX512; \
	VMOVAPS.Z Z0, K1, Z0; \
	U8STORE_AVX512; \
u8done: \
	VCVTDQ2PS Z5, Z5; \
	HREDUCE_AVX512(VADDPS, Z5, Y5, X5, Y6, X6); \
	HREDUCE_AVX512(VADDPS, Z12, Y12, X12, Y6, X6)

// func softmaxU8BlockAVX512(p *uint8, ldp int, s *float32, lds int, bias *float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf *float32)
TEXT ·softmaxU8BlockAVX512(SB), NOSPLIT, $0-112
	EXPFLUSHCONST_AVX512
	VBROADCASTSS expc<>+672(SB), Z15
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Z31
	MOVQ p+0(FP), R11
	MOVQ s+16(FP), R12
	MOVQ bias+32(FP), R13
	MOVQ $64, R14
	TESTQ R13, R13
	JNZ u8bias
	LEAQ expc<>+EXPC_ZERO(SB), R13
	XORQ R14, R14
u8bias:
	XORQ DX, DX
u8row:
	CMPQ DX, rows+48(FP)
	JGE u8end
	// The row's maximum b of rs·s + bias in this block, and the
	// running maximum.
	MOVQ rs+64(FP), R8
	VBROADCASTSS (R8)(DX*4), Z29
	MOVQ R12, SI
	MOVQ R13, BX
	MOVQ R14, R9
	MOVQ n+56(FP), CX
	MAX_AVX512
	U8ROWMAX
	VBROADCASTSS X4, Z30
	MOVQ R11, DI
	MOVQ R12, SI
	MOVQ R13, BX
	MOVQ R14, R9
	MOVQ n+56(FP), CX
	EXPSUM_U8_AVX512
	MOVQ sq+96(FP), R8
	VMOVSS X5, (R8)(DX*4)
	MOVQ sf+104(FP), R8
	VMOVSS X12, (R8)(DX*4)
	ADDQ ldp+8(FP), R11
	ADDQ lds+24(FP), R12
	ADDQ ldb+40(FP), R13
	INCQ DX
	JMP u8row
u8end:
	VZEROUPPER
	RET

// U8STORE_AVX2 adds Y0 to Y5, stores round(255·Y0) (255 in Y9) as 8 bytes
// at DI and adds the rounded values to Y7.
#define U8STORE_AVX2 \
	VADDPS Y0, Y5, Y5; \
	VMULPS Y9, Y0, Y0; \
	VCVTPS2DQ Y0, Y0; \
	VPADDD Y0, Y7, Y7; \
	VEXTRACTI128 $1, Y0, X1; \
	VPACKUSDW X1, X0, X0; \
	VPACKUSWB X0, X0, X0; \
	VMOVQ X0, (DI)

// U8MAX_AVX2: X4 = max over the row of Y13·src + bias (MAX_AVX2 with two
// accumulators: one VMAXPS chain would bound it).
#define U8MAX_AVX2 \
	VMOVAPS Y11, Y4; \
	VMOVAPS Y11, Y3; \
w8max2: \
	CMPQ CX, $16; \
	JB w8max1; \
	VMOVUPS (SI), Y0; \
	VFMADD213PS (BX), Y13, Y0; \
	VMAXPS Y0, Y4, Y4; \
	VMOVUPS 32(SI), Y1; \
	ADDQ R9, BX; \
	VFMADD213PS (BX), Y13, Y1; \
	VMAXPS Y1, Y3, Y3; \
	ADDQ $64, SI; \
	ADDQ R9, BX; \
	SUBQ $16, CX; \
	JMP w8max2; \
w8max1: \
	CMPQ CX, $8; \
	JB w8maxtail; \
	VMOVUPS (SI), Y0; \
	VFMADD213PS (BX), Y13, Y0; \
	VMAXPS Y0, Y4, Y4; \
	ADDQ $32, SI; \
	ADDQ R9, BX; \
	SUBQ $8, CX; \
w8maxtail: \
	TESTQ CX, CX; \
	JZ w8maxdone; \
	VMASKMOVPS (SI), Y8, Y0; \
	VMASKMOVPS (BX), Y8, Y1; \
	VFMADD213PS Y1, Y13, Y0; \
	VBLENDVPS Y8, Y0, Y11, Y0; \
	VMAXPS Y0, Y4, Y4; \
w8maxdone: \
	VMAXPS Y3, Y4, Y4; \
	HREDUCE_AVX2(VMAXPS, Y4, X4, X5)

// U8REDUCE2 is EXPFAST_AVX2's range reduction (EXPFASTREDUCE_AVX2) on
// the next vector of the row (x = Y13·src + bias − Y12, x ≤ 0 or NaN, so
// the upper clamp changes nothing; the tail's lanes outside Y8 -Inf): r
// into Y2, 2^(n-1)'s bits into Y3; moves SI, BX and CX on. Y4 scratch;
// -88 in Y14.
#define U8REDUCE2 \
	CMPQ CX, $8; \
	JB 5(PC); \
	VMOVUPS (SI), Y2; \
	VFMADD213PS (BX), Y13, Y2; \
	SUBQ $8, CX; \
	JMP 7(PC); \
	VMASKMOVPS (SI), Y8, Y2; \
	VMASKMOVPS (BX), Y8, Y3; \
	VFMADD213PS Y3, Y13, Y2; \
	VMOVUPS expc<>+EXPC_NEGINF(SB), Y4; \
	VBLENDVPS Y8, Y2, Y4, Y2; \
	XORQ CX, CX; \
	VSUBPS Y12, Y2, Y2; \
	VMAXPS Y2, Y14, Y2; \
	EXPFASTREDUCE_AVX2(Y2, Y3, Y4); \
	ADDQ $32, SI; \
	ADDQ R9, BX

// U8FINISH2 is the rest of EXPFAST_AVX2 (EXPFASTPOLY_AVX2) on r in Y0 and
// the scale in Y1, then U8STORE_AVX2. Y6, Y10, Y11 scratch.
#define U8FINISH2 \
	EXPFASTPOLY_AVX2(Y0, Y1, Y6, Y11, Y10); \
	U8STORE_AVX2

// func softmaxU8BlockAVX2(p *uint8, ldp int, s *float32, lds int, bias *float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf *float32)
TEXT ·softmaxU8BlockAVX2(SB), NOSPLIT, $0-112
	VMOVUPS expc<>+544(SB), Y14 // -88: EXPFAST_AVX2's lower clamp
	VBROADCASTSS expc<>+672(SB), Y9
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Y11
	// The tail's mask, the same for every row.
	MOVQ n+56(FP), CX
	ANDQ $7, CX
	JZ w8nomask
	TAILMASK_AVX2(Y8)
w8nomask:
	MOVQ p+0(FP), R11
	MOVQ s+16(FP), R12
	MOVQ bias+32(FP), R13
	MOVQ $32, R14
	TESTQ R13, R13
	JNZ w8bias
	LEAQ expc<>+EXPC_ZERO(SB), R13
	XORQ R14, R14
w8bias:
	XORQ DX, DX
w8row:
	CMPQ DX, rows+48(FP)
	JGE w8end
	// The row's maximum b of rs·s + bias in this block, and the
	// running maximum.
	MOVQ rs+64(FP), R10
	VBROADCASTSS (R10)(DX*4), Y13
	VBROADCASTSS expc<>+EXPC_NEGINF(SB), Y11 // U8FINISH2 takes Y11
	MOVQ R12, SI
	MOVQ R13, BX
	MOVQ R14, R9
	MOVQ n+56(FP), CX
	U8MAX_AVX2
	U8ROWMAX
	VBROADCASTSS X4, Y12
	MOVQ R11, DI
	MOVQ R12, SI
	MOVQ R13, BX
	MOVQ R14, R9
	MOVQ n+56(FP), CX
	// EXPSUM_U8_AVX512 on ymm: dst (DI) = round(255·e^(Y13·src + bias −
	// Y12)) as bytes for CX ≥ 1 floats at SI (bias at BX, R9 bytes per
	// vector; the tail's lanes under the mask Y8 count as -Inf, so 0),
	// whole vectors of 8, and 8 more zeros where that ends short of a
	// multiple of 16; X7 = the bytes' sum, X5 = the exponentials'. The
	// exponential is EXPFAST_AVX2's, bit for bit, software-pipelined: each
	// step reduces vector k+1 (U8REDUCE2 into Y2, Y3) while it finishes
	// vector k (U8FINISH2 from Y0, Y1). One loop carrying a vector's whole
	// chain (~55 cycles) waited on its latency, the scheduler full of
	// waiting work.
	VXORPS Y5, Y5, Y5
	VPXOR Y7, Y7, Y7
	MOVQ CX, R10
	U8REDUCE2
	VMOVAPS Y2, Y0
	VMOVAPS Y3, Y1
w8loop:
	TESTQ CX, CX
	JZ w8last
	U8REDUCE2
	U8FINISH2
	ADDQ $8, DI
	VMOVAPS Y2, Y0
	VMOVAPS Y3, Y1
	JMP w8loop
w8last:
	U8FINISH2
	ADDQ $8, DI
	ADDQ $7, R10
	TESTQ $8, R10
	JZ w8done
	MOVQ $0, (DI)
w8done:
	VCVTDQ2PS Y7, Y7
	HREDUCE_AVX2(VADDPS, Y7, X7, X6)
	HREDUCE_AVX2(VADDPS, Y5, X5, X6)
	MOVQ sq+96(FP), R8
	VMOVSS X7, (R8)(DX*4)
	MOVQ sf+104(FP), R8
	VMOVSS X5, (R8)(DX*4)
	ADDQ ldp+8(FP), R11
	ADDQ lds+24(FP), R12
	ADDQ ldb+40(FP), R13
	INCQ DX
	JMP w8row
w8end:
	VZEROUPPER
	RET
