//go:build gc && !purego

package kernels

import (
	"fmt"
	"syscall"
)

// Linux (5.16 and later) traps a process's first use of AMX tile data
// unless the process asked for it: arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA). The grant covers every thread of the process,
// present and future. The kernel refuses it (ENOSPC) when some thread's
// alternate signal stack is too small for the larger signal frame; Go's
// own signal stacks (32 KiB) are large enough.
const (
	sysArchPrctl      = 158 // SYS_arch_prctl on linux/amd64
	archReqXCompPerm  = 0x1023
	xfeatureXTileData = 18
)

// amxPermit asks for tile data; "" when granted.
func amxPermit() string {
	if _, _, errno := syscall.RawSyscall(sysArchPrctl, archReqXCompPerm, xfeatureXTileData, 0); errno != 0 {
		return fmt.Sprintf("permission to use AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM: %v)", errno)
	}
	return ""
}
