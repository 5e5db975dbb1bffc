package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyres/anyres/internal/allocs"
)

// countTask records which worker slots ran, and how many at once.
type countTask struct {
	ran        [8]atomic.Int32
	now, most  atomic.Int32
	hold       time.Duration
	nested     int // > 0: each slot runs a loop of that many slots itself
	nestedRuns atomic.Int32
}

func (c *countTask) Run(w int) {
	n := c.now.Add(1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	c.ran[w].Add(1)
	if c.hold > 0 {
		time.Sleep(c.hold)
	}
	if c.nested > 0 {
		inner := &countTask{}
		var j Join
		j.Run(inner, c.nested)
		for i := range c.nested {
			c.nestedRuns.Add(inner.ran[i].Load())
		}
	}
	c.now.Add(-1)
}

// Every slot runs once, and Run returns after all; slots that take a while
// run side by side.
func TestJoinRunsEverySlot(t *testing.T) {
	overlapped := 0
	for round := range 50 {
		c := &countTask{hold: time.Duration(round%3) * time.Millisecond}
		var j Join
		j.Run(c, 8)
		for w := range 8 {
			if n := c.ran[w].Load(); n != 1 {
				t.Fatalf("round %d: slot %d ran %d times", round, w, n)
			}
		}
		if c.now.Load() != 0 {
			t.Fatalf("round %d: Run returned with %d slots running", round, c.now.Load())
		}
		if c.hold > 0 && c.most.Load() >= 2 {
			overlapped++
		}
	}
	// Not every round: a loaded machine may run one round's slots one by
	// one, but not all of them.
	if overlapped == 0 {
		t.Error("slots held 1–2 ms each never ran side by side")
	}
}

// Loops inside a loop's slots finish: a task is never queued behind a busy
// helper, so a slot waiting for its own helpers cannot wait on itself.
func TestJoinNested(t *testing.T) {
	outer := &countTask{nested: 4}
	done := make(chan struct{})
	go func() {
		var j Join
		j.Run(outer, 8)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("nested loops did not finish")
	}
	if n := outer.nestedRuns.Load(); n != 8*4 {
		t.Errorf("%d inner slots ran, want %d", n, 8*4)
	}
}

// Many callers at once, each with its own loops, all finish.
func TestJoinConcurrentCallers(t *testing.T) {
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				c := &countTask{}
				var j Join
				j.Run(c, 4)
				for w := range 4 {
					if c.ran[w].Load() != 1 {
						t.Errorf("slot %d ran %d times", w, c.ran[w].Load())
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// A warm loop allocates nothing: the helpers are kept and a task travels
// by value.
func TestJoinAllocatesNothingWarm(t *testing.T) {
	c := &countTask{}
	var j Join
	run := func() { j.Run(c, 4) }
	run()
	if n := allocs.PerRun(200, run); n != 0 {
		t.Errorf("%v allocations per warm loop", n)
	}
}

type spinTask struct{ d time.Duration }

func (s *spinTask) Run(int) {
	for t := time.Now(); time.Since(t) < s.d; {
	}
}

// BenchmarkHandoff times a two-worker loop of two items of d each: the
// kernels' helpers against a new goroutine per loop (what every parallel
// loop did before). The excess over d is the cost of the hand-off; a
// parked goroutine woken on an idle core makes the loop run its items
// one after the other.
//
//	go test ./kernels -run - -bench Handoff
func BenchmarkHandoff(b *testing.B) {
	for _, d := range []time.Duration{0, 20 * time.Microsecond, 200 * time.Microsecond} {
		s := &spinTask{d}
		b.Run("helpers/"+d.String(), func(b *testing.B) {
			var j Join
			for b.Loop() {
				j.Run(s, 2)
			}
		})
		b.Run("goroutine/"+d.String(), func(b *testing.B) {
			for b.Loop() {
				var wg sync.WaitGroup
				wg.Go(func() { s.Run(1) })
				s.Run(0)
				wg.Wait()
			}
		})
	}
}
