//go:build gc && !purego

#include "textflag.h"

// func relBiasAddAVX2(scores, table []float32, index []int32)
TEXT ·relBiasAddAVX2(SB), NOSPLIT, $0-72
	MOVQ scores_base+0(FP), DI
	MOVQ scores_len+8(FP), CX
	MOVQ table_base+24(FP), SI
	MOVQ index_base+48(FP), BX

gather8:
	// scores[0:8] += table[index[0:8]]: VGATHERDPS clears its mask, so
	// it is set to all ones again each time.
	CMPQ       CX, $8
	JB         tail
	VMOVDQU    (BX), Y1
	VPCMPEQD   Y2, Y2, Y2
	VGATHERDPS Y2, (SI)(Y1*4), Y3
	VADDPS     (DI), Y3, Y3
	VMOVUPS    Y3, (DI)
	ADDQ       $32, DI
	ADDQ       $32, BX
	SUBQ       $8, CX
	JMP        gather8

tail:
	// The last scores one by one.
	TESTQ   CX, CX
	JZ      done
	MOVLQSX (BX), AX
	// VEX forms: a legacy-SSE op while the upper ymm halves are dirty
	// costs a state transition (measured 250-410 ns on this Xeon).
	VMOVSS  (SI)(AX*4), X0
	VADDSS  (DI), X0, X0
	VMOVSS  X0, (DI)
	ADDQ    $4, DI
	ADDQ    $4, BX
	DECQ    CX
	JMP     tail

done:
	VZEROUPPER
	RET

// func relBiasAddAVX512(scores, table []float32, index []int32)
TEXT ·relBiasAddAVX512(SB), NOSPLIT, $0-72
	MOVQ scores_base+0(FP), DI
	MOVQ scores_len+8(FP), CX
	MOVQ table_base+24(FP), SI
	MOVQ index_base+48(FP), BX

gather16:
	// scores[0:16] += table[index[0:16]]; the gather clears K1.
	CMPQ       CX, $16
	JB         tail512
	VMOVDQU32  (BX), Z1
	KXNORW     K0, K0, K1
	VGATHERDPS (SI)(Z1*4), K1, Z3
	VADDPS     (DI), Z3, Z3
	VMOVUPS    Z3, (DI)
	ADDQ       $64, DI
	ADDQ       $64, BX
	SUBQ       $16, CX
	JMP        gather16

tail512:
	// The last 1..15 scores under a mask of as many lanes.
	TESTQ      CX, CX
	JZ         done512
	MOVL       $1, AX
	SHLL       CX, AX
	DECL       AX
	KMOVW      AX, K1
	KMOVW      AX, K2
	VPXORD     Z1, Z1, Z1
	VMOVDQU32  (BX), K1, Z1
	VXORPS     Z3, Z3, Z3
	VGATHERDPS (SI)(Z1*4), K1, Z3
	VMOVUPS.Z  (DI), K2, Z4
	VADDPS     Z4, Z3, Z3
	VMOVUPS    Z3, K2, (DI)

done512:
	VZEROUPPER
	RET

// func relBiasWindowAVX2(scores []float32, ld int, rev []float32, start []int32, h, w int)
TEXT ·relBiasWindowAVX2(SB), NOSPLIT, $0-96
	MOVQ  scores_base+0(FP), DI
	MOVQ  ld+24(FP), R8
	SHLQ  $2, R8 // row stride in bytes
	MOVQ  rev_base+32(FP), SI
	MOVQ  start_base+56(FP), BX
	MOVQ  start_len+64(FP), R11 // queries
	MOVQ  h+80(FP), R9
	MOVQ  w+88(FP), R10
	LEAQ  -4(R10*8), R12 // (2w-1) in bytes: the table step from one key row to the next

query:
	// One query row: h runs of w scores, each plus w table entries.
	MOVLQSX (BX), AX
	LEAQ    (SI)(AX*4), AX // table at key (0, 0)
	MOVQ    DI, DX         // scores at key (0, 0)
	MOVQ    R9, R13

keyrow:
	MOVQ AX, R14
	MOVQ R10, CX

add8:
	CMPQ    CX, $8
	JB      add4
	VMOVUPS (R14), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DX)
	ADDQ    $32, R14
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     add8

add4:
	CMPQ    CX, $4
	JB      add1
	VMOVUPS (R14), X0
	VADDPS  (DX), X0, X0
	VMOVUPS X0, (DX)
	ADDQ    $16, R14
	ADDQ    $16, DX
	SUBQ    $4, CX

add1:
	TESTQ CX, CX
	JZ    nextkeyrow
	VMOVSS (R14), X0   // VEX forms, as in the gather tail
	VADDSS (DX), X0, X0
	VMOVSS X0, (DX)
	ADDQ  $4, R14
	ADDQ  $4, DX
	DECQ  CX
	JMP   add1

nextkeyrow:
	ADDQ R12, AX
	DECQ R13
	JNZ  keyrow
	ADDQ R8, DI
	ADDQ $4, BX
	DECQ R11
	JNZ  query
	VZEROUPPER
	RET
