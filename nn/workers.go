package nn

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/anyres/anyres/kernels"
)

// Job is work split into items that run in any order on any worker:
// Do(worker, item) may use worker's private scratch. A pointer type
// implements it, so handing it to Workers allocates nothing.
type Job interface {
	Do(worker, item int)
}

// Workers is a pool of helper goroutines that run the items of Jobs, the
// caller's goroutine included: the one parallel loop of every model.
// Items are claimed from a shared counter, so a busy pool (other forward
// passes) only slows a job down. A Workers is safe for concurrent use.
type Workers struct {
	n    int
	jobs chan task
}

// Batch is one caller's state for running jobs; it lives in the caller's
// workspace so that Run allocates nothing. A Batch runs one job at a time.
type Batch struct {
	job   Job
	items int
	next  atomic.Int64
	wg    sync.WaitGroup
}

// task hands worker slot w of a batch to a helper goroutine.
type task struct {
	b *Batch
	w int
}

// NewWorkers starts n-1 helpers (n ≤ 0: GOMAXPROCS; at most 256); they
// end when the Workers is unreachable.
func NewWorkers(n int) *Workers {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = min(n, 256)
	// Up to n workers may be inside one kernel at once: the kernels keep
	// that many scratch objects warm, so a warm pass never allocates
	// whichever of them first meet together.
	kernels.ReserveScratch(n)
	w := &Workers{n: n, jobs: make(chan task, 4*n)}
	for range n - 1 {
		go func(jobs chan task) {
			for t := range jobs {
				t.b.do(t.w)
				t.b.wg.Done()
			}
		}(w.jobs)
	}
	// The helpers hold only the channel, so an unreachable pool is
	// collected and its helpers end.
	runtime.AddCleanup(w, func(jobs chan task) { close(jobs) }, w.jobs)
	return w
}

// N is the number of workers, the caller included: worker indexes passed
// to Job.Do are below it.
func (w *Workers) N() int { return w.n }

// Run does items 0..items-1 of job on up to N workers and returns when all
// are done. The caller is worker 0.
func (w *Workers) Run(b *Batch, job Job, items int) {
	b.job, b.items = job, items
	b.next.Store(0)
	helpers := min(w.n, items) - 1
	for i := 1; i <= helpers; i++ {
		b.wg.Add(1)
		select {
		case w.jobs <- task{b, i}:
		default: // every helper is busy (other callers): do the work here
			b.wg.Done()
		}
	}
	b.do(0)
	b.wg.Wait()
	b.job = nil
}

// do claims and runs items until none are left.
func (b *Batch) do(worker int) {
	for {
		i := int(b.next.Add(1) - 1)
		if i >= b.items {
			return
		}
		b.job.Do(worker, i)
	}
}
