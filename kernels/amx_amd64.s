//go:build gc && !purego

#include "textflag.h"

// The Go assembler does not know the AMX instructions: each is written as
// its bytes (from GNU as, binutils 2.40), the instruction in AT&T syntax
// beside it.

// ldtilecfg (%rax)
#define LDTILECFG_AX BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0x00
// tilerelease
#define TILERELEASE BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0
// tilezero %tmm0 … %tmm3
#define TILEZERO_0 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc0
#define TILEZERO_1 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc8
#define TILEZERO_2 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
#define TILEZERO_3 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd8
// tileloadd (%rsi,%r8,1), %tmm4
#define TILELOADD_4_SI_R8 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x06
// tileloadd (%r9,%r8,1), %tmm5
#define TILELOADD_5_R9_R8 BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x2c; BYTE $0x01
// tileloadd (%rdi,%r11,1), %tmm6
#define TILELOADD_6_DI_R11 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x1f
// tileloadd (%r10,%r11,1), %tmm7
#define TILELOADD_7_R10_R11 BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x3c; BYTE $0x1a
// tilestored %tmm0 … %tmm3, 0x0(%r13,%r12,1)
#define TILESTORED_0_R13_R12 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x44; BYTE $0x25; BYTE $0x00
#define TILESTORED_1_R13_R12 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x4c; BYTE $0x25; BYTE $0x00
#define TILESTORED_2_R13_R12 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x54; BYTE $0x25; BYTE $0x00
#define TILESTORED_3_R13_R12 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x5c; BYTE $0x25; BYTE $0x00

// The tile configuration: palette 1, tiles 0-7 of 16 rows × 64 bytes.
DATA amxCfg<>+0(SB)/8, $1
DATA amxCfg<>+8(SB)/8, $0
DATA amxCfg<>+16(SB)/8, $0x0040004000400040
DATA amxCfg<>+24(SB)/8, $0x0040004000400040
DATA amxCfg<>+32(SB)/8, $0
DATA amxCfg<>+40(SB)/8, $0
DATA amxCfg<>+48(SB)/8, $0x1010101010101010
DATA amxCfg<>+56(SB)/8, $0
GLOBL amxCfg<>(SB), RODATA|NOPTR, $64

// tdpbusd %tmm6, %tmm4, %tmm0 (tmm0 += tmm4·tmm6, u8×s8 → s32), and the
// same for tmm1 = 4·7, tmm2 = 5·6, tmm3 = 5·7
#define DP00 BYTE $0xc4; BYTE $0xe2; BYTE $0x49; BYTE $0x5e; BYTE $0xc4
#define DP01 BYTE $0xc4; BYTE $0xe2; BYTE $0x41; BYTE $0x5e; BYTE $0xcc
#define DP10 BYTE $0xc4; BYTE $0xe2; BYTE $0x49; BYTE $0x5e; BYTE $0xd5
#define DP11 BYTE $0xc4; BYTE $0xe2; BYTE $0x41; BYTE $0x5e; BYTE $0xdd

// func amxDotU8(kb int, a *uint8, lda int, b *int8, ldb int, t *int32, ldt int, rows int, cols int, pf *int8, pfn int, pfLast *int8)
TEXT ·amxDotU8(SB), NOSPLIT, $32-96
#include "amx_body_amd64.h"

#undef DP00
#undef DP01
#undef DP10
#undef DP11

// tdpbf16ps %tmm6, %tmm4, %tmm0 (tmm0 += tmm4·tmm6, bf16 pairs → fp32),
// and the same for tmm1 = 4·7, tmm2 = 5·6, tmm3 = 5·7
#define DP00 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xc4
#define DP01 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xcc
#define DP10 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xd5
#define DP11 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xdd

// func amxDotBF16(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows int, cols int, pf *uint16, pfn int, pfLast *uint16)
TEXT ·amxDotBF16(SB), NOSPLIT, $32-96
#include "amx_body_amd64.h"

// func xgetbv0() uint32
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET
