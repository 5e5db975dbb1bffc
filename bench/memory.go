package bench

// Memory measurements for benchmarks outside this package (anyres bench
// serve): the same samplers the model benchmarks use.

// PeakRSS is the process's resident-memory high-water mark in bytes
// (VmHWM; 0 where /proc is absent).
func PeakRSS() uint64 { return peakRSS() }

// ResetPeakRSS restarts the high-water mark at the current resident size
// (Linux); elsewhere it does nothing.
func ResetPeakRSS() { resetPeakRSS() }

// HeapPeak samples the Go heap until stop is called (every millisecond
// while it sets new highs, less often while it does not); stop returns the
// highest value seen, in bytes.
func HeapPeak() (stop func() uint64) { return heapPeak() }
