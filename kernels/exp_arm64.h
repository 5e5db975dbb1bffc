// Shared by the *_arm64.s files: NEON encodings the Go assembler lacks (as
// WORD, each named after the instruction it is, registers given by number),
// the constants of e^x and the macro that computes it on one vector. The
// method is that of exp_amd64.h (Cody-Waite reduction, SLEEF's polynomial,
// the scale 2^n applied in two halves); FMAX/FMIN propagate NaN.
//
// Tails: the kernels run whole vectors, then redo the row's last four
// elements (loaded before the main loop, so that in-place calls still read
// the input); reductions mask out the lanes counted twice with tailmask<>.
// Rows shorter than four elements never reach the assembly.

#include "textflag.h"

// Vd.4S = Vn.4S op Vm.4S
#define FADD4(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB4(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FMUL4(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
#define FDIV4(d, n, m) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
#define FMAX4(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
#define FMIN4(d, n, m) WORD $(0x4EA0F400 | ((m)<<16) | ((n)<<5) | (d))
#define ADD4(d, n, m) WORD $(0x4EA08400 | ((m)<<16) | ((n)<<5) | (d))
#define SUB4(d, n, m) WORD $(0x6EA08400 | ((m)<<16) | ((n)<<5) | (d))
#define AND16(d, n, m) WORD $(0x4E201C00 | ((m)<<16) | ((n)<<5) | (d))
#define EOR16(d, n, m) WORD $(0x6E201C00 | ((m)<<16) | ((n)<<5) | (d))
#define ORR16(d, n, m) WORD $(0x4EA01C00 | ((m)<<16) | ((n)<<5) | (d))
// FMLA Vd.4S += Vn.4S·Vm.4S; FMLS Vd.4S -= Vn.4S·Vm.4S
#define FMLA4(d, n, m) WORD $(0x4E20CC00 | ((m)<<16) | ((n)<<5) | (d))
#define FMLS4(d, n, m) WORD $(0x4EA0CC00 | ((m)<<16) | ((n)<<5) | (d))
// MOV Vd.16B, Vn.16B (ORR Vd, Vn, Vn)
#define VMOV16(d, n) ORR16(d, n, n)
// FCVTNS Vd.4S, Vn.4S (to int32, nearest even); SCVTF Vd.4S, Vn.4S
#define FCVTNS4(d, n) WORD $(0x4E21A800 | ((n)<<5) | (d))
#define SCVTF4(d, n) WORD $(0x4E21D800 | ((n)<<5) | (d))
// FABS, FNEG Vd.4S, Vn.4S
#define FABS4(d, n) WORD $(0x4EA0F800 | ((n)<<5) | (d))
#define FNEG4(d, n) WORD $(0x6EA0F800 | ((n)<<5) | (d))
// SSHR Vd.4S, Vn.4S, #1; SHL Vd.4S, Vn.4S, #23
#define SSHR4_1(d, n) WORD $(0x4F3F0400 | ((n)<<5) | (d))
#define SHL4_23(d, n) WORD $(0x4F375400 | ((n)<<5) | (d))
// FMAXV Sd, Vn.4S; FADDP Vd.4S, Vn.4S, Vm.4S; FADDP Sd, Vn.2S
#define FMAXV4(d, n) WORD $(0x6E30F800 | ((n)<<5) | (d))
#define FADDP4(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP2S(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))

// HSUM4(d, n): Sd = the sum of the four lanes of Vn (Vn is clobbered).
#define HSUM4(d, n) \
	FADDP4(n, n, n); \
	FADDP2S(d, n)

// expc<>: V16 -104, V17 89, V18 log2 e, V19 ln2hi, V20 ln2lo, V21-V26
// c0-c5, V27 1, V28 127 (int32); then -Inf, zeros (a missing bias), and the
// tail masks.
#define SPLAT4(off, v) DATA expc<>+off+0(SB)/4, $v; DATA expc<>+off+4(SB)/4, $v; DATA expc<>+off+8(SB)/4, $v; DATA expc<>+off+12(SB)/4, $v

SPLAT4(0, 0xc2d00000)
SPLAT4(16, 0x42b20000)
SPLAT4(32, 0x3fb8aa3b)
SPLAT4(48, 0x3f317200)
SPLAT4(64, 0x35bfbe8e)
SPLAT4(80, 0x39502bda)
SPLAT4(96, 0x3ab696c9)
SPLAT4(112, 0x3c0888a6)
SPLAT4(128, 0x3d2aaa7a)
SPLAT4(144, 0x3e2aaaab)
SPLAT4(160, 0x3f000000)
SPLAT4(176, 0x3f800000)
SPLAT4(192, 0x0000007f)
SPLAT4(208, 0xff800000)
SPLAT4(224, 0x00000000)
SPLAT4(240, 0x00000000)
SPLAT4(256, 0xffffffff)
GLOBL expc<>(SB), RODATA|NOPTR, $272

#define EXPC_ONE 176
#define EXPC_NEGINF 208
#define EXPC_ZERO 224
// expc<>+EXPC_TAILMASK+4k loads a mask of the top k lanes (k = 0..3).
#define EXPC_TAILMASK 240

// EXPCONST_NEON loads V16-V28; clobbers R3.
#define EXPCONST_NEON \
	MOVD   $expc<>(SB), R3; \
	VLD1.P 64(R3), [V16.S4, V17.S4, V18.S4, V19.S4]; \
	VLD1.P 64(R3), [V20.S4, V21.S4, V22.S4, V23.S4]; \
	VLD1.P 64(R3), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	VLD1   (R3), [V28.S4]

// EXP_NEON(x, n, u, p) sets Vx = e^Vx; Vn, Vu, Vp are scratch.
#define EXP_NEON(x, n, u, p) \
	FMAX4(x, x, 16); \
	FMIN4(x, x, 17); \
	FMUL4(p, x, 18); \
	FCVTNS4(n, p); \
	SCVTF4(u, n); \
	FMLS4(x, u, 19); \
	FMLS4(x, u, 20); \
	VMOV16(p, 22); \
	FMLA4(p, x, 21); \
	VMOV16(u, 23); \
	FMLA4(u, x, p); \
	VMOV16(p, 24); \
	FMLA4(p, x, u); \
	VMOV16(u, 25); \
	FMLA4(u, x, p); \
	VMOV16(p, 26); \
	FMLA4(p, x, u); \
	FMUL4(u, x, x); \
	FMLA4(x, u, p); \
	FADD4(x, x, 27); \
	SSHR4_1(u, n); \
	SUB4(n, n, u); \
	ADD4(u, u, 28); \
	ADD4(n, n, 28); \
	SHL4_23(u, u); \
	SHL4_23(n, n); \
	FMUL4(x, x, u); \
	FMUL4(x, x, n)
