// Package abtest holds what the A/B benchmarks share: they alternate two
// settings call by call in one process, time each call in the calling
// thread's CPU time (on a machine shared with other work it leaves out the
// time spent waiting for a core, which wall time does not), and report
// medians and quartiles of the per-pair ratios.
package abtest

import "slices"

// Quantile is the p-quantile (0 ≤ p ≤ 1) of x by the nearest rank below;
// x is left in its order.
func Quantile(x []float64, p float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}
