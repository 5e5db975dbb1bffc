// cpuid_avx2.so: an LD_PRELOAD shim that makes a process see an AVX2-only
// x86 CPU on an AVX-512 machine, so a peer library (ONNX Runtime's MLAS)
// picks its AVX2 kernels and can be compared with anyres capped at AVX2
// (ANYRES_KERNELS=avx2) on the same machine. vit_onnxruntime.py builds it
// with gcc into .tools/ and uses it for its AVX2 rows.
//
// How: arch_prctl(ARCH_SET_CPUID, 0) turns on CPUID faulting for the thread
// (inherited by the threads it creates later), so every CPUID instruction
// raises SIGSEGV; the handler runs the real CPUID with faulting briefly off,
// clears the AVX-512, AVX512-VNNI/BF16/FP16 and AMX bits of leaf 7, and
// steps over the instruction. Needs the kernel's cpuid_fault feature
// (/proc/cpuinfo). Node must run with --disable-wasm-trap-handler, or V8's
// SIGSEGV handler can take the fault first.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define ARCH_SET_CPUID 0x1012

static void cpuid_raw(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	const uint8_t *ip = (const uint8_t *)g[REG_RIP];
	if (ip[0] != 0x0f || ip[1] != 0xa2) {
		// Not a CPUID: a real fault. Returning re-runs the instruction
		// under the default action, which ends the process as it would.
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	uint32_t leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX], r[4];
	syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
	cpuid_raw(leaf, sub, r);
	syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
	if (leaf == 7 && sub == 0) {
		// EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
		r[1] &= ~(1u << 16 | 1u << 17 | 1u << 21 | 1u << 26 | 1u << 27 | 1u << 28 | 1u << 30 | 1u << 31);
		// ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14.
		r[2] &= ~(1u << 1 | 1u << 6 | 1u << 11 | 1u << 12 | 1u << 14);
		// EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, FP16 23, AMX-TILE 24, AMX-INT8 25.
		r[3] &= ~(1u << 2 | 1u << 3 | 1u << 8 | 1u << 22 | 1u << 23 | 1u << 24 | 1u << 25);
	}
	if (leaf == 7 && sub == 1) {
		r[0] &= ~(1u << 5); // EAX: AVX512_BF16.
	}
	g[REG_RAX] = r[0];
	g[REG_RBX] = r[1];
	g[REG_RCX] = r[2];
	g[REG_RDX] = r[3];
	g[REG_RIP] += 2; // past the 2-byte CPUID
}

__attribute__((constructor)) static void mask_cpuid(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, 0);
	syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}
