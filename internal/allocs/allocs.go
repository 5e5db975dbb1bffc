// Package allocs counts what a function allocates itself, leaving out the
// runtime's own allocations, for allocation tests that must hold under
// load.
package allocs

import (
	"runtime"
	"strings"
)

// PerRun is testing.AllocsPerRun counting only what f allocates
// itself: the allocations, per run, of every goroutine except the
// runtime's own (its background goroutines, its scheduling records). A forward pass that waits for its
// workers parks goroutines, and the runtime makes a wait record (sudog)
// when the caches it keeps them in are empty (a garbage collection drops
// the shared one, and which P's cache a record lands in follows the
// scheduler), or an OS thread when more are running at once than ever
// before. Those are the runtime's, made once and kept, whatever code
// waits; counting them made TestNoAllocs fail now and then under load.
// Everything else counts, from any goroutine, however small: a model's
// buffers, its kernels' scratch, goroutines it starts.
//
// Unlike AllocsPerRun it neither runs f once first (warm it up: the first
// runs may be what is measured) nor sets GOMAXPROCS to 1 (workers stay
// free to meet inside the kernels). It profiles every allocation
// (runtime.MemProfileRate 1) for the measured runs and garbage-collects
// around them to read the profile.
func PerRun(runs int, f func()) float64 {
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = rate }()
	before := allocSites()
	for range runs {
		f()
	}
	after := allocSites()
	var n int64
	for stack, objs := range after {
		if d := objs - before[stack]; d > 0 && !runtimeOwn(stack) {
			n += d
		}
	}
	return float64(n) / float64(runs)
}

// allocSites is the objects allocated so far at each allocation site
// (call stack), as of two garbage collections from now, which publish the
// allocations made until now. Its own allocations are made before its
// profile is read, so the next call counts them: runtimeOwn skips them.
//
//go:noinline
func allocSites() map[[32]uintptr]int64 {
	runtime.GC()
	runtime.GC()
	n, _ := runtime.MemProfile(nil, true)
	recs := make([]runtime.MemProfileRecord, n+64)
	n, _ = runtime.MemProfile(recs, true)
	sites := make(map[[32]uintptr]int64, n)
	for _, r := range recs[:n] {
		sites[r.Stack0] += r.AllocObjects
	}
	return sites
}

// runtimeOwn reports whether the allocation at stack is the runtime's:
// made by one of its own goroutines (the scavenger's timers, say: no frame
// outside the runtime), or a scheduling record or thread it makes for
// whatever code waits; or this file's own bookkeeping.
func runtimeOwn(stack [32]uintptr) bool {
	frames := runtime.CallersFrames(stack[:])
	own := true
	for {
		f, more := frames.Next()
		switch fn := f.Function; {
		case fn == "runtime.acquireSudog", fn == "runtime.allocm", strings.HasSuffix(fn, "allocs.allocSites"):
			return true
		case fn != "" && !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "internal/"):
			own = false
		}
		if !more {
			return own
		}
	}
}
