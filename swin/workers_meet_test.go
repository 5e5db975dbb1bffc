package swin

import (
	"runtime"
	"testing"

	"github.com/anyres/anyres/internal/allocs"
)

// TestNoAllocsWorkersMeet: a model warmed while its workers never ran
// together (one P: a helper runs only when the caller waits) allocates
// nothing when they first meet inside the kernels. The kernels' scratch
// must not depend on how many workers happened to share a kernel, nor on
// which one served which call, during the warm-up.
func TestNoAllocsWorkersMeet(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	const threads = 4
	f, m := loadGolden(t, goldenV2, options{Threads: threads})
	imgs := goldenImages(t, f)
	var out Output
	outs := make([]Output, len(imgs))
	pass := func() {
		if err := m.Forward(imgs[1], &out); err != nil {
			t.Fatal(err)
		}
		if err := m.ForwardBatch(imgs, outs); err != nil {
			t.Fatal(err)
		}
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	for range 3 {
		pass()
	}
	// Resizing the Ps allocates: before the count (which counts no new OS
	// threads either).
	runtime.GOMAXPROCS(threads)
	if n := allocs.PerRun(5, func() { pass(); runtime.Gosched() }); n != 0 {
		t.Errorf("%g allocations per pass in the first passes with the workers free to meet", n)
	}
}
