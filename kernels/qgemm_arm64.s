//go:build gc && !purego

#include "textflag.h"

// func qgemmSDOT(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
TEXT ·qgemmSDOT(SB), NOSPLIT, $0-48
	MOVD kg+0(FP), R0
	MOVD a+8(FP), R1
	MOVD lda+16(FP), R2
	MOVD b+24(FP), R3
	MOVD t+40(FP), R4
	ADD R2, R1, R5
	ADD R2, R5, R6
	ADD R2, R6, R7
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	CBZ R0, qsdot_store
qsdot_loop:
	VLD1.P 64(R3), [V16.B16, V17.B16, V18.B16, V19.B16]
	FMOVS.P 4(R1), F20
	FMOVS.P 4(R5), F21
	FMOVS.P 4(R6), F22
	FMOVS.P 4(R7), F23
	WORD $0x4f94e200 // SDOT V0.S4, V16.B16, V20.B4[0]
	WORD $0x4f94e221 // SDOT V1.S4, V17.B16, V20.B4[0]
	WORD $0x4f94e242 // SDOT V2.S4, V18.B16, V20.B4[0]
	WORD $0x4f94e263 // SDOT V3.S4, V19.B16, V20.B4[0]
	WORD $0x4f95e204 // SDOT V4.S4, V16.B16, V21.B4[0]
	WORD $0x4f95e225 // SDOT V5.S4, V17.B16, V21.B4[0]
	WORD $0x4f95e246 // SDOT V6.S4, V18.B16, V21.B4[0]
	WORD $0x4f95e267 // SDOT V7.S4, V19.B16, V21.B4[0]
	WORD $0x4f96e208 // SDOT V8.S4, V16.B16, V22.B4[0]
	WORD $0x4f96e229 // SDOT V9.S4, V17.B16, V22.B4[0]
	WORD $0x4f96e24a // SDOT V10.S4, V18.B16, V22.B4[0]
	WORD $0x4f96e26b // SDOT V11.S4, V19.B16, V22.B4[0]
	WORD $0x4f97e20c // SDOT V12.S4, V16.B16, V23.B4[0]
	WORD $0x4f97e22d // SDOT V13.S4, V17.B16, V23.B4[0]
	WORD $0x4f97e24e // SDOT V14.S4, V18.B16, V23.B4[0]
	WORD $0x4f97e26f // SDOT V15.S4, V19.B16, V23.B4[0]
	SUB $1, R0
	CBNZ R0, qsdot_loop
qsdot_store:
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R4)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R4)
	VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R4)
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R4)
	RET

// func qgemmNEON(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
//
// qKernelGo's 4×16 tile on ARMv8.0 Advanced SIMD (no dot product: Cortex-A72
// of the Raspberry Pi 4, A53 of the Pi 3). Same registers as qgemmSDOT: the
// accumulator V(4r+i) holds row r × columns 4i…4i+3 (int32), so the store
// is the same. Per group of 4 steps of K and per row r and B vector i
// (4 columns × 4 k bytes):
//
//	SMULL  T0.8H = a.8B  · b.8B      columns 4i, 4i+1 × k0…k3 (int16)
//	SMULL2 T1.8H = a.16B · b.16B     columns 4i+2, 4i+3 × k0…k3
//	ADDP   T0.8H = pairs of T0, T1    (c k0+k1, c k2+k3) per column
//	SADALP acc.4S += pairs of T0     one int32 sum per column
//
// Exact: a product is ≤ 127·128 = 16256 and the ADDP pair ≤ 32512, inside
// int16 (the same bound VPMADDUBSW relies on, see qgemm.go); SADALP widens
// to int32 before adding. 4 instructions per 16 multiply-adds (SDOT: 1),
// 2 of them multiplies, which the A72 issues on one pipe (F0), one per
// cycle (Cortex-A72 Software Optimization Guide): about 8 multiply-adds per
// cycle at best, with ADDP and SADALP able to issue on the other (F1). The minimum is 3 per 16 (SMULL + SMLAL of two groups into
// one int16 lane, 2 products ≤ 32512, then SADALP), but the lanes then hold
// 2 columns each: 32 accumulators for 4×16, a 2×16 tile, and twice the B
// loads per multiply-add; the multiply pipe bounds both on the A72, so the
// simpler tile with SDOT's layout was kept. Speed is unmeasured on
// hardware (none was available; qemu timings mean nothing).
//
// The activation bytes are broadcast with LD1R (4 bytes into every word, as
// the B vector's 4 columns each hold 4 k bytes). Go's assembler has no
// SMULL, SADALP, LD1R post-index: WORD encodings (from llvm-mc), the
// instruction in each comment.
TEXT ·qgemmNEON(SB), NOSPLIT, $0-48
	MOVD kg+0(FP), R0
	MOVD a+8(FP), R1
	MOVD lda+16(FP), R2
	MOVD b+24(FP), R3
	MOVD t+40(FP), R4
	// R1, R5, R6, R7: the 4 rows of A.
	ADD R2, R1, R5
	ADD R2, R5, R6
	ADD R2, R6, R7
	// Zero the 16 int32 accumulators (a tile with kg = 0 stores zeros).
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	CBZ R0, qneon_store
qneon_loop:
	// One group: the panel's 64 bytes (16 columns × 4 k) and each row's
	// 4 activation bytes, broadcast.
	VLD1.P 64(R3), [V16.B16, V17.B16, V18.B16, V19.B16]
	WORD $0x4ddfc834 // VLD1R.P 4(R1), [V20.S4] (row 0)
	WORD $0x4ddfc8b5 // VLD1R.P 4(R5), [V21.S4] (row 1)
	WORD $0x4ddfc8d6 // VLD1R.P 4(R6), [V22.S4] (row 2)
	WORD $0x4ddfc8f7 // VLD1R.P 4(R7), [V23.S4] (row 3)
	// row 0: 16 columns × 4 k (V0…V3 += Σ a·b)
	WORD $0x0e30c298 // SMULL V24.H8, V20.B8, V16.B8
	WORD $0x4e30c299 // SMULL2 V25.H8, V20.B16, V16.B16
	WORD $0x0e31c29a // SMULL V26.H8, V20.B8, V17.B8
	WORD $0x4e31c29b // SMULL2 V27.H8, V20.B16, V17.B16
	WORD $0x0e32c29c // SMULL V28.H8, V20.B8, V18.B8
	WORD $0x4e32c29d // SMULL2 V29.H8, V20.B16, V18.B16
	WORD $0x0e33c29e // SMULL V30.H8, V20.B8, V19.B8
	WORD $0x4e33c29f // SMULL2 V31.H8, V20.B16, V19.B16
	WORD $0x4e79bf18 // ADDP V24.H8, V24.H8, V25.H8
	WORD $0x4e7bbf5a // ADDP V26.H8, V26.H8, V27.H8
	WORD $0x4e7dbf9c // ADDP V28.H8, V28.H8, V29.H8
	WORD $0x4e7fbfde // ADDP V30.H8, V30.H8, V31.H8
	WORD $0x4e606b00 // SADALP V0.S4, V24.H8
	WORD $0x4e606b41 // SADALP V1.S4, V26.H8
	WORD $0x4e606b82 // SADALP V2.S4, V28.H8
	WORD $0x4e606bc3 // SADALP V3.S4, V30.H8
	// row 1: 16 columns × 4 k (V4…V7 += Σ a·b)
	WORD $0x0e30c2b8 // SMULL V24.H8, V21.B8, V16.B8
	WORD $0x4e30c2b9 // SMULL2 V25.H8, V21.B16, V16.B16
	WORD $0x0e31c2ba // SMULL V26.H8, V21.B8, V17.B8
	WORD $0x4e31c2bb // SMULL2 V27.H8, V21.B16, V17.B16
	WORD $0x0e32c2bc // SMULL V28.H8, V21.B8, V18.B8
	WORD $0x4e32c2bd // SMULL2 V29.H8, V21.B16, V18.B16
	WORD $0x0e33c2be // SMULL V30.H8, V21.B8, V19.B8
	WORD $0x4e33c2bf // SMULL2 V31.H8, V21.B16, V19.B16
	WORD $0x4e79bf18 // ADDP V24.H8, V24.H8, V25.H8
	WORD $0x4e7bbf5a // ADDP V26.H8, V26.H8, V27.H8
	WORD $0x4e7dbf9c // ADDP V28.H8, V28.H8, V29.H8
	WORD $0x4e7fbfde // ADDP V30.H8, V30.H8, V31.H8
	WORD $0x4e606b04 // SADALP V4.S4, V24.H8
	WORD $0x4e606b45 // SADALP V5.S4, V26.H8
	WORD $0x4e606b86 // SADALP V6.S4, V28.H8
	WORD $0x4e606bc7 // SADALP V7.S4, V30.H8
	// row 2: 16 columns × 4 k (V8…V11 += Σ a·b)
	WORD $0x0e30c2d8 // SMULL V24.H8, V22.B8, V16.B8
	WORD $0x4e30c2d9 // SMULL2 V25.H8, V22.B16, V16.B16
	WORD $0x0e31c2da // SMULL V26.H8, V22.B8, V17.B8
	WORD $0x4e31c2db // SMULL2 V27.H8, V22.B16, V17.B16
	WORD $0x0e32c2dc // SMULL V28.H8, V22.B8, V18.B8
	WORD $0x4e32c2dd // SMULL2 V29.H8, V22.B16, V18.B16
	WORD $0x0e33c2de // SMULL V30.H8, V22.B8, V19.B8
	WORD $0x4e33c2df // SMULL2 V31.H8, V22.B16, V19.B16
	WORD $0x4e79bf18 // ADDP V24.H8, V24.H8, V25.H8
	WORD $0x4e7bbf5a // ADDP V26.H8, V26.H8, V27.H8
	WORD $0x4e7dbf9c // ADDP V28.H8, V28.H8, V29.H8
	WORD $0x4e7fbfde // ADDP V30.H8, V30.H8, V31.H8
	WORD $0x4e606b08 // SADALP V8.S4, V24.H8
	WORD $0x4e606b49 // SADALP V9.S4, V26.H8
	WORD $0x4e606b8a // SADALP V10.S4, V28.H8
	WORD $0x4e606bcb // SADALP V11.S4, V30.H8
	// row 3: 16 columns × 4 k (V12…V15 += Σ a·b)
	WORD $0x0e30c2f8 // SMULL V24.H8, V23.B8, V16.B8
	WORD $0x4e30c2f9 // SMULL2 V25.H8, V23.B16, V16.B16
	WORD $0x0e31c2fa // SMULL V26.H8, V23.B8, V17.B8
	WORD $0x4e31c2fb // SMULL2 V27.H8, V23.B16, V17.B16
	WORD $0x0e32c2fc // SMULL V28.H8, V23.B8, V18.B8
	WORD $0x4e32c2fd // SMULL2 V29.H8, V23.B16, V18.B16
	WORD $0x0e33c2fe // SMULL V30.H8, V23.B8, V19.B8
	WORD $0x4e33c2ff // SMULL2 V31.H8, V23.B16, V19.B16
	WORD $0x4e79bf18 // ADDP V24.H8, V24.H8, V25.H8
	WORD $0x4e7bbf5a // ADDP V26.H8, V26.H8, V27.H8
	WORD $0x4e7dbf9c // ADDP V28.H8, V28.H8, V29.H8
	WORD $0x4e7fbfde // ADDP V30.H8, V30.H8, V31.H8
	WORD $0x4e606b0c // SADALP V12.S4, V24.H8
	WORD $0x4e606b4d // SADALP V13.S4, V26.H8
	WORD $0x4e606b8e // SADALP V14.S4, V28.H8
	WORD $0x4e606bcf // SADALP V15.S4, V30.H8
	SUB $1, R0
	CBNZ R0, qneon_loop
qneon_store:
	// The 4×16 int32 tile, rows of 16 (64 bytes) one after the other.
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R4)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R4)
	VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R4)
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R4)
	RET
