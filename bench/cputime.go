package bench

import "time"

// ProcessCPU is the CPU time this process has used (user + system), false
// where the platform cannot tell: a load benchmark's cost per request on a
// machine shared with other jobs, where its wall time says more about them.
func ProcessCPU() (time.Duration, bool) { return processCPU() }
