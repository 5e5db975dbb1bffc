//go:build unix

package kernels_test

import "syscall"

// processCPU is the user+system CPU time the process has used, in seconds:
// unlike wall time it leaves out the time spent waiting for a core on a
// shared machine.
func processCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
