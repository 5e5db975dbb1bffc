// The body of amxDotU8 and amxDotBF16 (amx_amd64.s), included once for
// each with DP00…DP11 defined as its tile dot-product instruction; see
// amxDotU8 in amx_amd64.go for what it computes.
//
// Registers: BX prefetch pointer, CX K steps left, DX t of the current row
// tile, SI/R9 the two 16-row A tiles' rows, DI/R10 the two panels, R8 lda,
// R11 the panel row stride (64), R12 ldt, AX rows left, R13 scratch.
// Locals: 0(SP) the column pair's first panel, 8(SP) its t, 16(SP) columns
// left, 24(SP) the current row tile's A.

	// Every tile is 16 rows × 64 bytes (amxCfg); loading the
	// configuration also zeroes the tiles.
	LEAQ amxCfg<>(SB), AX
	LDTILECFG_AX
	MOVQ lda+16(FP), R8
	MOVQ $64, R11
	MOVQ ldt+48(FP), R12
	MOVQ pf+72(FP), BX
	MOVQ b+24(FP), DI
	MOVQ DI, 0(SP)
	MOVQ t+40(FP), DX
	MOVQ DX, 8(SP)
	MOVQ cols+64(FP), CX
	MOVQ CX, 16(SP)

amx_col:
	// One pair of panels (32 columns) against every row tile.
	CMPQ 16(SP), $32
	JLT amx_done
	MOVQ a+8(FP), SI
	MOVQ 8(SP), DX
	MOVQ rows+56(FP), AX

amx_row2:
	// 32 rows × 32 columns: C tiles 0 1 / 2 3 = A tiles 4 / 5 × B tiles 6 7.
	CMPQ AX, $32
	JLT amx_row1
	TILEZERO_0
	TILEZERO_1
	TILEZERO_2
	TILEZERO_3
	MOVQ SI, 24(SP)
	MOVQ R8, R9
	SHLQ $4, R9
	ADDQ SI, R9
	MOVQ 0(SP), DI
	MOVQ ldb+32(FP), R10
	ADDQ DI, R10
	MOVQ kb+0(FP), CX
	TESTQ CX, CX
	JZ amx_store2

amx_k2:
	// One step of 64 bytes of K: 16·64 bytes of each A tile (rows lda
	// apart) and 1 KiB of each panel.
	TILELOADD_4_SI_R8
	TILELOADD_5_R9_R8
	TILELOADD_6_DI_R11
	TILELOADD_7_R10_R11
	DP00
	DP01
	DP10
	DP11
	// Prefetch pfn lines of the next call's panels, up to pfLast.
	MOVQ pfn+80(FP), R13

amx_pf2:
	TESTQ R13, R13
	JZ amx_pfdone2
	CMPQ BX, pfLast+88(FP)
	JHI amx_pfdone2
	PREFETCHT1 (BX)
	ADDQ $64, BX
	DECQ R13
	JMP amx_pf2

amx_pfdone2:
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $1024, DI
	ADDQ $1024, R10
	DECQ CX
	JNZ amx_k2

amx_store2:
	// The 2×2 tiles to t: rows ldt bytes apart, the right tiles 64 bytes
	// (16 sums) on, the lower ones 16 rows down.
	MOVQ DX, R13
	TILESTORED_0_R13_R12
	ADDQ $64, R13
	TILESTORED_1_R13_R12
	MOVQ R12, R13
	SHLQ $4, R13
	ADDQ DX, R13
	TILESTORED_2_R13_R12
	ADDQ $64, R13
	TILESTORED_3_R13_R12
	// Next row tile: A and t 32 rows down.
	MOVQ 24(SP), SI
	MOVQ R8, R13
	SHLQ $5, R13
	ADDQ R13, SI
	MOVQ R12, R13
	SHLQ $5, R13
	ADDQ R13, DX
	SUBQ $32, AX
	JMP amx_row2

amx_row1:
	// A last tile of 16 rows × 32 columns: C tiles 0 1 = A tile 4 × B
	// tiles 6 7.
	TESTQ AX, AX
	JZ amx_nextcol
	TILEZERO_0
	TILEZERO_1
	MOVQ 0(SP), DI
	MOVQ ldb+32(FP), R10
	ADDQ DI, R10
	MOVQ kb+0(FP), CX
	TESTQ CX, CX
	JZ amx_store1

amx_k1:
	TILELOADD_4_SI_R8
	TILELOADD_6_DI_R11
	TILELOADD_7_R10_R11
	DP00
	DP01
	MOVQ pfn+80(FP), R13

amx_pf1:
	TESTQ R13, R13
	JZ amx_pfdone1
	CMPQ BX, pfLast+88(FP)
	JHI amx_pfdone1
	PREFETCHT1 (BX)
	ADDQ $64, BX
	DECQ R13
	JMP amx_pf1

amx_pfdone1:
	ADDQ $64, SI
	ADDQ $1024, DI
	ADDQ $1024, R10
	DECQ CX
	JNZ amx_k1

amx_store1:
	MOVQ DX, R13
	TILESTORED_0_R13_R12
	ADDQ $64, R13
	TILESTORED_1_R13_R12

amx_nextcol:
	// Next pair of panels: 2·ldb bytes on; its sums 32 columns (128
	// bytes) right in t.
	MOVQ ldb+32(FP), R13
	SHLQ $1, R13
	ADDQ R13, 0(SP)
	ADDQ $128, 8(SP)
	SUBQ $32, 16(SP)
	JMP amx_col

amx_done:
	// Back to the init state: the thread holds no tile data (cheaper
	// context switches, and no state for the next user of the thread).
	TILERELEASE
	RET
