package bench

import (
	"slices"
	"time"
)

// callTimes calls f until it has run at least minCalls times and minTime has
// passed, or maxCalls times when maxCalls > 0, and returns each call's
// duration, sorted: [len/2] is the median, [0] the fastest call. Callers warm
// up first (the first call builds caches, pools and page tables). It stops
// at f's first error.
func callTimes(minCalls, maxCalls int, minTime time.Duration, f func() error) ([]time.Duration, error) {
	var times []time.Duration
	start := time.Now()
	for (maxCalls <= 0 || len(times) < maxCalls) && (len(times) < minCalls || time.Since(start) < minTime) {
		t0 := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	return times, nil
}

// noError adapts a function that cannot fail to callTimes.
func noError(f func()) func() error { return func() error { f(); return nil } }
