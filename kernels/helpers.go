package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The helper goroutines of every parallel loop (the kernels' own and
// nn.Workers'). A helper that finishes its task keeps looking for the next
// one for helperSpin before it parks. A forward pass is a chain of short
// parallel phases (a ViT has five per block, some of a few dozen
// microseconds), and waking a parked goroutine on an idle core goes
// through the OS: ~100 µs on a KVM guest, during which the caller's core
// works alone (`go test ./kernels -run - -bench Handoff`). A new
// goroutine per loop costs the same wake-up.
//
// A loop never queues a task behind a busy helper: it reserves an idle
// one or starts a new one, so a task can never wait for another (a loop inside
// a loop's task cannot deadlock).

// Task runs worker slot w of a parallel loop.
type Task interface{ Run(w int) }

// funcTask is a Task from a func.
type funcTask func(w int)

func (f funcTask) Run(w int) { f(w) }

// Join runs a parallel loop's worker slots (Run). Its zero value is
// ready; one Join runs one loop at a time.
type Join struct {
	wg      sync.WaitGroup
	pending atomic.Int32 // helpers started and not done
}

type helperTask struct {
	t Task
	w int
	j *Join
}

const (
	helperSpin = 50 * time.Microsecond
	helperCap  = 256 // helpers kept; past it a helper ends after its task
)

var helpers struct {
	tasks chan helperTask
	idle  atomic.Int32 // helpers waiting for a task that no loop has reserved
	kept  atomic.Int32 // helpers alive between tasks
}

func init() { helpers.tasks = make(chan helperTask, helperCap) }

// Run runs t.Run(w) for every slot w below workers, slot 0 on the caller
// and the others on helpers, and returns when all have run.
func (j *Join) Run(t Task, workers int) {
	for w := 1; w < workers; w++ {
		j.start(t, w)
	}
	t.Run(0)
	j.wait()
}

// start runs t.Run(w) on a helper goroutine, one likely awake already.
func (j *Join) start(t Task, w int) {
	j.wg.Add(1)
	j.pending.Add(1)
	task := helperTask{t, w, j}
	for {
		n := helpers.idle.Load()
		if n <= 0 {
			break
		}
		if helpers.idle.CompareAndSwap(n, n-1) {
			helpers.tasks <- task
			return
		}
	}
	go helper(task)
}

// wait returns when every task started has run. It spins for up to
// helperSpin before it parks: a caller that parked would be woken onto
// the core of the helper that finished last, behind that helper's own
// spin, while its own core went idle.
func (j *Join) wait() {
	if j.pending.Load() != 0 {
		start := time.Now()
		for j.pending.Load() != 0 && time.Since(start) < helperSpin {
			runtime.Gosched()
		}
	}
	j.wg.Wait()
}

// done ends one task: Done before the count the spinning wait reads, so
// that a wait that saw the count reach zero never parks.
func (j *Join) done() {
	j.wg.Done()
	j.pending.Add(-1)
}

func helper(t helperTask) {
	if helpers.kept.Add(1) > helperCap {
		helpers.kept.Add(-1)
		t.t.Run(t.w)
		t.j.done()
		return
	}
	for {
		t.t.Run(t.w)
		j := t.j
		t = helperTask{} // keep nothing of the caller's alive while waiting
		// Idle before done: a caller that starts its next loop as soon
		// as this one ends finds this helper, not a new goroutine.
		helpers.idle.Add(1)
		j.done()
		t = nextTask()
	}
}

// nextTask waits for a task, spinning for helperSpin first. The spin keeps
// the processor: yielding it (runtime.Gosched) lets the runtime park the
// core and run this goroutine later on the caller's, one after the other.
func nextTask() helperTask {
	start := time.Now()
	for {
		select {
		case t := <-helpers.tasks:
			return t
		default:
		}
		if time.Since(start) > helperSpin {
			return <-helpers.tasks
		}
		runtime.Gosched()
	}
}
