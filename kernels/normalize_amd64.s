//go:build gc && !purego

#include "textflag.h"

// func normalizeAVX2(x *float32, n, seg int, eps float32)
// Per segment: the squares summed in eight lanes (two chains), the lanes
// added, n = max(sqrt(sum), eps), then each value divided by n.
TEXT ·normalizeAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), R8
	MOVQ         seg+16(FP), R9
	VMOVSS       eps+24(FP), X7
	LEAQ         (DI)(R8*4), R8 // end

segment:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   DI, SI
	MOVQ   R9, CX

sum16:
	CMPQ        CX, $16
	JB          sum8
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VFMADD231PS Y2, Y2, Y0
	VFMADD231PS Y3, Y3, Y1
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         sum16

sum8:
	TESTQ       CX, CX
	JZ          reduce
	VMOVUPS     (SI), Y2
	VFMADD231PS Y2, Y2, Y0

reduce:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VSQRTSS      X0, X0, X0
	VMAXSS       X0, X7, X0 // max(eps, norm), NaN kept
	VBROADCASTSS X0, Y0
	MOVQ         DI, SI
	MOVQ         R9, CX

divide:
	VMOVUPS (SI), Y2
	VDIVPS  Y0, Y2, Y2
	VMOVUPS Y2, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     divide

	MOVQ SI, DI
	CMPQ DI, R8
	JB   segment
	VZEROUPPER
	RET
