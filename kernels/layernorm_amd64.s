//go:build gc && !purego

#include "exp_amd64.h"

// lnc<>: 16 ones then 16 zeros, read in place of a missing weight or bias
// (with a pointer step of 0).
#define ONES16 DATA lnc<>+0(SB)/8, $0x3f8000003f800000; DATA lnc<>+8(SB)/8, $0x3f8000003f800000; DATA lnc<>+16(SB)/8, $0x3f8000003f800000; DATA lnc<>+24(SB)/8, $0x3f8000003f800000; DATA lnc<>+32(SB)/8, $0x3f8000003f800000; DATA lnc<>+40(SB)/8, $0x3f8000003f800000; DATA lnc<>+48(SB)/8, $0x3f8000003f800000; DATA lnc<>+56(SB)/8, $0x3f8000003f800000
ONES16
DATA lnc<>+64(SB)/8, $0
DATA lnc<>+72(SB)/8, $0
DATA lnc<>+80(SB)/8, $0
DATA lnc<>+88(SB)/8, $0
DATA lnc<>+96(SB)/8, $0
DATA lnc<>+104(SB)/8, $0
DATA lnc<>+112(SB)/8, $0
DATA lnc<>+120(SB)/8, $0
GLOBL lnc<>(SB), RODATA|NOPTR, $128

// AFFINE sets R10 = weight (or the ones, step R11 = 0) and BX = bias (or the
// zeros, step R9 = 0).
#define AFFINE(step) \
	XORQ AX, AX; \
	MOVQ weight_base+48(FP), R10; \
	MOVQ $step, R11; \
	LEAQ lnc<>+0(SB), R8; \
	CMPQ weight_len+56(FP), $0; \
	CMOVQEQ R8, R10; \
	CMOVQEQ AX, R11; \
	MOVQ bias_base+72(FP), BX; \
	MOVQ $step, R9; \
	LEAQ lnc<>+64(SB), R8; \
	CMPQ bias_len+80(FP), $0; \
	CMOVQEQ R8, BX; \
	CMOVQEQ AX, R9

// STATS computes, from sum1 = Σ(x - mean0) in X4 and sum2 = Σ(x - mean0)²
// in X6, with n in X8: X7 = rstd = 1/sqrt(var + eps) with
// var = max(sum2/n - (sum1/n)², 0), and X13 = (sum1/n)·rstd. The mean is
// never formed: mean0 + sum1/n rounded to float32 would lose the small
// correction when the mean is large (1e4) and the spread small, so pass 3
// computes (x - mean0)·rstd - (sum1/n)·rstd, where x - mean0 is exact.
#define STATS \
	VDIVSS       X8, X4, X4; \
	VDIVSS       X8, X6, X6; \
	VFNMADD231SS X4, X4, X6; \
	VXORPS       X7, X7, X7; \
	VMAXSS       X7, X6, X6; \
	VADDSS       eps+96(FP), X6, X6; \
	VSQRTSS      X6, X6, X6; \
	VMOVSS       lnc<>+0(SB), X7; \
	VDIVSS       X6, X7, X7; \
	VMULSS       X7, X4, X13

// func layerNormAVX2(dst, src, weight, bias []float32, eps float32, ahead int)
TEXT ·layerNormAVX2(SB), NOSPLIT, $0-112
	MOVQ ahead+104(FP), R13
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), DX

	// Pass 1: mean0 = Σx/n, two accumulators.
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	MOVQ   DX, CX

sum2:
	CMPQ   CX, $16
	JB     sum1
	VADDPS (SI), Y4, Y4
	VADDPS 32(SI), Y5, Y5
	ADDQ   $64, SI
	SUBQ   $16, CX
	JMP    sum2

sum1:
	CMPQ   CX, $8
	JB     sumtail
	VADDPS (SI), Y4, Y4
	ADDQ   $32, SI
	SUBQ   $8, CX

sumtail:
	TESTQ CX, CX
	JZ    sumdone
	TAILMASK_AVX2(Y9)
	VMASKMOVPS (SI), Y9, Y0
	VADDPS     Y0, Y5, Y5

sumdone:
	VADDPS       Y5, Y4, Y4
	HREDUCE_AVX2(VADDPS, Y4, X4, X5)
	VCVTSI2SSQ   DX, X8, X8
	VDIVSS       X8, X4, X10
	VBROADCASTSS X10, Y10

	// Pass 2: Σd and Σd² of d = x - mean0; prefetch the next row (R13
	// bytes ahead).
	MOVQ   src_base+24(FP), SI
	MOVQ   DX, CX
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dev2:
	CMPQ        CX, $16
	JB          dev1
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	PREFETCHT0  (SI)(R13*1)
	VSUBPS      Y10, Y0, Y0
	VSUBPS      Y10, Y1, Y1
	VADDPS      Y0, Y4, Y4
	VADDPS      Y1, Y5, Y5
	VFMADD231PS Y0, Y0, Y6
	VFMADD231PS Y1, Y1, Y7
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         dev2

dev1:
	CMPQ        CX, $8
	JB          devtail
	VMOVUPS     (SI), Y0
	VSUBPS      Y10, Y0, Y0
	VADDPS      Y0, Y4, Y4
	VFMADD231PS Y0, Y0, Y6
	ADDQ        $32, SI
	SUBQ        $8, CX

devtail:
	TESTQ CX, CX
	JZ    devdone
	TAILMASK_AVX2(Y9)
	VMASKMOVPS  (SI), Y9, Y0
	VSUBPS      Y10, Y0, Y0
	VANDPS      Y9, Y0, Y0
	VADDPS      Y0, Y5, Y5
	VFMADD231PS Y0, Y0, Y7

devdone:
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	HREDUCE_AVX2(VADDPS, Y4, X4, X5)
	HREDUCE_AVX2(VADDPS, Y6, X6, X5)
	STATS
	VBROADCASTSS X7, Y12
	VBROADCASTSS X13, Y13

	// Pass 3: dst = ((x - mean0)·rstd - (sum1/n)·rstd)·weight + bias.
	AFFINE(32)
	MOVQ src_base+24(FP), SI
	MOVQ dst_base+0(FP), DI
	MOVQ DX, CX

norm:
	CMPQ        CX, $8
	JB          normtail
	VMOVUPS     (SI), Y0
	VSUBPS      Y10, Y0, Y0
	VFMSUB213PS Y13, Y12, Y0
	VMOVUPS     (R10), Y1
	VFMADD213PS (BX), Y1, Y0
	VMOVUPS     Y0, (DI)
	PREFETCHT0  (DI)(R13*1)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        R11, R10
	ADDQ        R9, BX
	SUBQ        $8, CX
	JMP         norm

normtail:
	TESTQ CX, CX
	JZ    done
	TAILMASK_AVX2(Y9)
	VMASKMOVPS  (SI), Y9, Y0
	VMASKMOVPS  (R10), Y9, Y1
	VMASKMOVPS  (BX), Y9, Y2
	VSUBPS      Y10, Y0, Y0
	VFMSUB213PS Y13, Y12, Y0
	VFMADD213PS Y2, Y1, Y0
	VMASKMOVPS  Y0, Y9, (DI)

done:
	VZEROUPPER
	RET

// func layerNormAVX512(dst, src, weight, bias []float32, eps float32, ahead int)
TEXT ·layerNormAVX512(SB), NOSPLIT, $0-112
	MOVQ ahead+104(FP), R13
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), DX

	// Pass 1: mean0 = Σx/n, two accumulators.
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	MOVQ   DX, CX

sum2:
	CMPQ   CX, $32
	JB     sum1
	VADDPS (SI), Z4, Z4
	VADDPS 64(SI), Z5, Z5
	ADDQ   $128, SI
	SUBQ   $32, CX
	JMP    sum2

sum1:
	CMPQ   CX, $16
	JB     sumtail
	VADDPS (SI), Z4, Z4
	ADDQ   $64, SI
	SUBQ   $16, CX

sumtail:
	TESTQ CX, CX
	JZ    sumdone
	TAILMASK_AVX512
	VMOVUPS.Z (SI), K1, Z0
	VADDPS    Z0, Z5, Z5

sumdone:
	VADDPS       Z5, Z4, Z4
	HREDUCE_AVX512(VADDPS, Z4, Y4, X4, Y5, X5)
	VCVTSI2SSQ   DX, X8, X8
	VDIVSS       X8, X4, X10
	VBROADCASTSS X10, Z10

	// Pass 2: Σd and Σd² of d = x - mean0; prefetch the next row (R13
	// bytes ahead).
	MOVQ   src_base+24(FP), SI
	MOVQ   DX, CX
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7

dev2:
	CMPQ        CX, $32
	JB          dev1
	VMOVUPS     (SI), Z0
	VMOVUPS     64(SI), Z1
	PREFETCHT0  (SI)(R13*1)
	PREFETCHT0  64(SI)(R13*1)
	VSUBPS      Z10, Z0, Z0
	VSUBPS      Z10, Z1, Z1
	VADDPS      Z0, Z4, Z4
	VADDPS      Z1, Z5, Z5
	VFMADD231PS Z0, Z0, Z6
	VFMADD231PS Z1, Z1, Z7
	ADDQ        $128, SI
	SUBQ        $32, CX
	JMP         dev2

dev1:
	CMPQ        CX, $16
	JB          devtail
	VMOVUPS     (SI), Z0
	VSUBPS      Z10, Z0, Z0
	VADDPS      Z0, Z4, Z4
	VFMADD231PS Z0, Z0, Z6
	ADDQ        $64, SI
	SUBQ        $16, CX

devtail:
	TESTQ CX, CX
	JZ    devdone
	TAILMASK_AVX512
	VMOVUPS.Z   (SI), K1, Z0
	VSUBPS.Z    Z10, Z0, K1, Z0
	VADDPS      Z0, Z5, Z5
	VFMADD231PS Z0, Z0, Z7

devdone:
	VADDPS       Z5, Z4, Z4
	VADDPS       Z7, Z6, Z6
	HREDUCE_AVX512(VADDPS, Z4, Y4, X4, Y5, X5)
	HREDUCE_AVX512(VADDPS, Z6, Y6, X6, Y5, X5)
	STATS
	VBROADCASTSS X7, Z12
	VBROADCASTSS X13, Z13

	// Pass 3: dst = ((x - mean0)·rstd - (sum1/n)·rstd)·weight + bias.
	AFFINE(64)
	MOVQ src_base+24(FP), SI
	MOVQ dst_base+0(FP), DI
	MOVQ DX, CX

norm:
	CMPQ        CX, $16
	JB          normtail
	VMOVUPS     (SI), Z0
	VSUBPS      Z10, Z0, Z0
	VFMSUB213PS Z13, Z12, Z0
	VMOVUPS     (R10), Z1
	VFMADD213PS (BX), Z1, Z0
	VMOVUPS     Z0, (DI)
	PREFETCHT0  (DI)(R13*1)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        R11, R10
	ADDQ        R9, BX
	SUBQ        $16, CX
	JMP         norm

normtail:
	TESTQ CX, CX
	JZ    done
	TAILMASK_AVX512
	VMOVUPS.Z   (SI), K1, Z0
	VMOVUPS.Z   (R10), K1, Z1
	VMOVUPS.Z   (BX), K1, Z2
	VSUBPS      Z10, Z0, Z0
	VFMSUB213PS Z13, Z12, Z0
	VFMADD213PS Z2, Z1, Z0
	VMOVUPS     Z0, K1, (DI)

done:
	VZEROUPPER
	RET
