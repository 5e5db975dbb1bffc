package abtest

import (
	"time"

	"golang.org/x/sys/unix"
)

// ThreadCPU is the CPU time of the calling OS thread
// (CLOCK_THREAD_CPUTIME_ID: nanosecond resolution, unlike getrusage's
// ticks); callers lock themselves to their thread.
func ThreadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
