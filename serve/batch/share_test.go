package batch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anyres/anyres/nn"
)

// The default Passes shares the model's threads: these tests run a fake
// whose Threads is set and read the threads each pass ran on.

// A lone request gets every thread.
func TestSharedLoneRequestGetsAllThreads(t *testing.T) {
	f := onThreads(4)
	var seen []Pass
	var mu sync.Mutex
	b, _ := New(f, Options{Wait: -1, Observe: func(p Pass) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}})
	defer b.Close()
	for i := range 3 {
		var o nn.Output
		if err := b.Forward(context.Background(), randomImage(uint64(i), 3, 16, 16), &o); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.passThreads(); fmt.Sprint(got) != "[4 4 4]" {
		t.Errorf("passes ran on %v threads, want [4 4 4]", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range seen {
		if p.Threads != 4 {
			t.Errorf("Observe saw %+v, want Threads 4", p)
		}
	}
}

// A queue that holds more than one pass is split into one pass per free
// thread, each on one thread, running side by side.
func TestSharedQueueSplitsIntoSingleThreadPasses(t *testing.T) {
	f := onThreads(2)
	// The first pass starts when all eight have queued (the image cap).
	b, _ := New(f, Options{Wait: time.Hour, MaxImages: 8})
	defer b.Close()
	// The second pass starts while the first is held.
	secondWhileFirstHeld(t, f, b, 8)
	if got := f.sizes(); fmt.Sprint(got) != "[4 4]" {
		t.Errorf("passes of %v images, want [4 4]", got)
	}
	if got := f.passThreads(); fmt.Sprint(got) != "[1 1]" {
		t.Errorf("passes ran on %v threads, want [1 1]", got)
	}
}

// While a pass holds every thread, the next waits for it instead of
// starting beside it on threads it does not have; then it gets them all.
// Close with that pass still waiting runs it and returns.
func TestSharedPassWaitsForThreads(t *testing.T) {
	f := onThreads(2)
	b, _ := New(f, Options{Wait: -1})
	started := f.hold()
	errs := make(chan error, 2)
	var outs [2]nn.Output
	go func() { errs <- b.Forward(context.Background(), randomImage(0, 3, 16, 16), &outs[0]) }()
	<-started
	go func() { errs <- b.Forward(context.Background(), randomImage(1, 3, 16, 16), &outs[1]) }()
	waitFor(t, func() bool { return b.QueueLen() == 1 })
	closed := make(chan error)
	go func() { closed <- b.Close() }()
	// Nothing can end the held pass but release: a second pass starting
	// in this time would show in sizes.
	time.Sleep(20 * time.Millisecond)
	if got := f.sizes(); len(got) != 1 {
		t.Errorf("passes %v started while the first held both threads", got)
	}
	f.release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if err := <-closed; err != nil {
		t.Error(err)
	}
	if got := f.passThreads(); fmt.Sprint(got) != "[2 2]" {
		t.Errorf("passes ran on %v threads, want [2 2]", got)
	}
}

// A pass that starts beside a running one gets the threads that one left
// free, all of them when nothing more is queued.
func TestSharedPassTakesTheFreeThreads(t *testing.T) {
	f := onThreads(3)
	// Two images queue together: two passes of one thread each (share
	// of three, rounded down), the last taking what is left: 1 and 2, in
	// whichever order the two loops reach the model.
	b, _ := New(f, Options{Wait: time.Hour, MaxImages: 2})
	defer b.Close()
	secondWhileFirstHeld(t, f, b, 2)
	if got := f.passThreads(); fmt.Sprint(slices.Sorted(slices.Values(got))) != "[1 2]" {
		t.Errorf("passes ran on %v threads, want [1 2]", got)
	}
}
