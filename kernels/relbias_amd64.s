//go:build !purego

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
	MOVSS   (SI)(AX*4), X0
	ADDSS   (DI), X0
	MOVSS   X0, (DI)
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
