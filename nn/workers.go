package nn

import (
	"runtime"
	"sync/atomic"

	"github.com/anyres/anyres/kernels"
)

// Job is work split into items that run in any order on any worker:
// Do(worker, item) may use worker's private scratch. A pointer type
// implements it, so handing it to Workers allocates nothing.
type Job interface {
	Do(worker, item int)
}

// Workers runs the items of Jobs on up to N goroutines, the caller's
// included, the others kernels' helpers (kernels.Join): the one parallel
// loop of every model. Items are claimed from a shared counter, so a busy
// machine (other forward passes) only slows a job down. A Workers is safe
// for concurrent use.
type Workers struct {
	n int
}

// Batch is one caller's state for running jobs; it lives in the caller's
// workspace so that Run allocates nothing. A Batch runs one job at a time.
type Batch struct {
	job   Job
	items int
	next  atomic.Int64
	join  kernels.Join
}

// NewWorkers makes a Workers of n (n ≤ 0: GOMAXPROCS; at most 256).
func NewWorkers(n int) *Workers {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = min(n, 256)
	// Up to n workers may be inside one kernel at once: the kernels keep
	// that many scratch objects warm, so a warm pass never allocates
	// whichever of them first meet together.
	kernels.ReserveScratch(n)
	return &Workers{n: n}
}

// N is the number of workers, the caller included: worker indexes passed
// to Job.Do are below it.
func (w *Workers) N() int { return w.n }

// Run does items 0..items-1 of job on up to N workers and returns when all
// are done. The caller is worker 0.
func (w *Workers) Run(b *Batch, job Job, items int) {
	b.job, b.items = job, items
	b.next.Store(0)
	b.join.Run(b, min(w.n, items))
	b.job = nil
}

// Run is worker w's share of the batch's job, for kernels.Join.
func (b *Batch) Run(w int) { b.do(w) }

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
