// Package batch coalesces concurrent forward passes of one model into
// packed batches.
//
// A service that calls Forward from many request goroutines at once makes
// each call run alone: the callers contend for the same cores, each with a
// small GEMM (197 rows for a 224² ViT). A Batcher queues the calls instead
// and runs what has queued as one ForwardBatch: images of any sizes packed
// into one sequence with no padding, so every GEMM gets the rows of all of
// them. Each caller still gets exactly its own result.
//
//	b, err := batch.New(model, batch.Options{})
//	defer b.Close()
//	err = b.Forward(ctx, img, &out) // from any number of goroutines
//
// A pass starts when the queued images fill the token budget, or when the
// oldest has waited Options.Wait, or, while a pass runs, as soon as it ends:
// the queue that built up meanwhile is the next batch. By default passes
// share the model's threads: a lone request gets all of them, while under
// load the queue is split into passes of one thread each that run side by
// side (see Options.Passes). The queue is
// bounded: a call that finds it full gets ErrOverloaded at once, so load
// past what the model can run turns into quick refusals rather than
// unbounded memory and latency.
//
// The package lives outside the library (the library never imports it), so
// edge builds do not carry it.
package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anyres/anyres/nn"
)

// Errors to test for with errors.Is.
var (
	// ErrOverloaded: the queue is full; the caller should retry later (an
	// HTTP server answers 503).
	ErrOverloaded = errors.New("batch: overloaded, the queue is full")
	// ErrClosed: the batcher was closed.
	ErrClosed = errors.New("batch: closed")
)

// Defaults for the zero Options.
const (
	DefaultMaxTokens = 4096
	DefaultMaxImages = 64
	// DefaultWait is short: under load the next batch builds up while
	// passes run, so the wait only gathers callers that arrive together
	// (those of a pass that just answered), and a core idles through it.
	DefaultWait  = 500 * time.Microsecond
	DefaultQueue = 256
)

// Options tune a Batcher. The zero value is fine.
type Options struct {
	// MaxTokens is the token budget of one packed pass (class and register
	// tokens included); 0 means DefaultMaxTokens. An image larger than the
	// budget runs alone (the model's own cap still applies).
	MaxTokens int
	// MaxImages caps the images of one pass; 0 means DefaultMaxImages.
	MaxImages int
	// Wait is how long the oldest queued image waits for others before a
	// pass starts with what there is; 0 means DefaultWait, negative means
	// never wait (start as soon as the model is free).
	Wait time.Duration
	// Queue bounds the images waiting for a pass; 0 means DefaultQueue.
	Queue int
	// Passes is how many passes may run at once, each on the model as
	// given (give it its share of the cores with anyres.WithThreads).
	//
	// 0, the default, shares the model's threads (nn.Net.Threads) between
	// up to that many passes: a pass that finds the queue empty behind it
	// runs on every thread no other pass holds, so a lone request gets
	// them all; when the queue holds more, it is split into as many
	// passes as there are free threads, each on its share. Fork-join
	// passes lose time at every join when anything else (HTTP, decoding)
	// takes a core, and a pass on one thread never waits for another; on
	// two idle cores two single-threaded passes also beat one pass on
	// both (docs/results.md, "On an idle machine").
	Passes int
	// Observe, if set, is called after every pass (on the batcher's
	// goroutine: keep it short), for metrics.
	Observe func(Pass)
}

// Pass describes one forward pass the batcher ran.
type Pass struct {
	Images   int           // images packed together
	Tokens   int           // their tokens, by the batcher's count
	Threads  int           // workers of the pass (0 with a fixed Passes: the model's own)
	Duration time.Duration // the forward pass
	Err      error         // the batch's error; nil even when a lone image failed
}

// request states.
const (
	queued int32 = iota
	taken        // in a pass: its out is the batcher's until done is signalled
	left         // its caller's context ended while it was queued
)

// request is one Forward call.
type request struct {
	img    nn.Image
	out    *nn.Output
	tokens int
	state  atomic.Int32
	err    error
	done   chan struct{} // one signal per use; buffered so the batcher never blocks
	since  time.Time
}

var requests = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// Batcher runs the Forward calls of many goroutines as packed batches on
// one model. It is safe for concurrent use.
type Batcher struct {
	m    nn.Net
	info nn.Info
	opts Options

	// shared, when set (Passes 0), is how many threads the passes share;
	// busy is how many of them running passes hold, and nets[k-1] runs a
	// pass on k threads (made on first use, sharing m's weights).
	shared int
	nets   []nn.Net

	mu     sync.Mutex
	queue  []*request // FIFO
	closed bool
	busy   int
	idle   int           // loops not running a pass
	due    int           // queued requests (from the head) that a loop's share left behind: they start now
	wake   chan struct{} // a request arrived (buffered 1)
	quit   chan struct{} // closed by Close
	loops  sync.WaitGroup
}

// pass is one loop's pass being assembled; only its loop touches it.
type pass struct {
	net     nn.Net // the model it runs on
	threads int    // its share of Batcher.shared (0 without sharing)
	reqs    []*request
	imgs    []nn.Image
	outs    []nn.Output
}

// New starts a batcher on m. Close stops it; it does not close m.
func New(m nn.Net, opts Options) (*Batcher, error) {
	if opts.MaxTokens < 0 || opts.MaxImages < 0 || opts.Queue < 0 || opts.Passes < 0 {
		return nil, fmt.Errorf("batch: MaxTokens %d, MaxImages %d, Queue %d and Passes %d must not be negative", opts.MaxTokens, opts.MaxImages, opts.Queue, opts.Passes)
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.MaxImages == 0 {
		opts.MaxImages = DefaultMaxImages
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultWait
	}
	if opts.Queue == 0 {
		opts.Queue = DefaultQueue
	}
	b := &Batcher{m: m, info: m.Info(), opts: opts, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	loops := opts.Passes
	if loops == 0 {
		b.shared = max(1, m.Threads())
		b.nets = make([]nn.Net, b.shared)
		b.nets[b.shared-1] = m
		loops = b.shared
	}
	b.idle = loops
	for range loops {
		b.loops.Go(b.loop)
	}
	return b, nil
}

// Options returns the options in force (defaults filled in).
func (b *Batcher) Options() Options { return b.opts }

// Tokens is the batcher's count of an H×W image's tokens: the model's own
// (nn.Net.Tokens), in the unit its token cap checks.
func (b *Batcher) Tokens(h, w int) int { return b.m.Tokens(h, w) }

// QueueLen is the number of images waiting for a pass.
func (b *Batcher) QueueLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Full reports whether the queue is full now: a server may refuse a
// request before reading its body (Forward still decides).
func (b *Batcher) Full() bool { return b.QueueLen() >= b.opts.Queue }

// Forward runs img as part of a packed batch and writes its result to out,
// which is what the model's own Forward(img, out) gives (within float
// rounding: a packed pass may tile rows differently). out's buffers are
// reused when large enough, as the model's Forward does.
//
// A bad image is refused before it is queued. When ctx ends while img is
// queued, Forward returns ctx.Err() at once and the image leaves the queue;
// when it ends during img's pass, Forward returns ctx.Err() when that pass
// ends (the pass reads img.Pix and writes out until then; other images'
// passes never wait for a caller). A full queue gives ErrOverloaded, a
// closed batcher ErrClosed.
func (b *Batcher) Forward(ctx context.Context, img nn.Image, out *nn.Output) error {
	if err := nn.CheckImage(img, b.info.Channels, b.info.Patch); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := requests.Get().(*request)
	r.img, r.out, r.tokens, r.err = img, out, b.Tokens(img.H, img.W), nil
	r.state.Store(queued)
	r.since = time.Now()
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		b.recycle(r)
		return ErrClosed
	case len(b.queue) >= b.opts.Queue:
		b.mu.Unlock()
		b.recycle(r)
		return fmt.Errorf("%w (%d images waiting)", ErrOverloaded, b.opts.Queue)
	}
	b.queue = append(b.queue, r)
	b.mu.Unlock()
	b.signal()

	select {
	case <-r.done:
		err := r.err
		b.recycle(r)
		return err
	case <-ctx.Done():
	}
	if r.state.CompareAndSwap(queued, left) {
		b.remove(r)
		b.recycle(r)
		return ctx.Err()
	}
	// The pass has it: wait for the pass to give img and out back.
	<-r.done
	b.recycle(r)
	return ctx.Err()
}

func (b *Batcher) recycle(r *request) {
	r.img, r.out, r.err = nn.Image{}, nil, nil
	requests.Put(r)
}

// remove takes a request its caller left out of the queue, if the batcher
// has not dropped it already.
func (b *Batcher) remove(r *request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, q := range b.queue {
		if q == r {
			b.queue = slices.Delete(b.queue, i, i+1)
			return
		}
	}
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Close refuses new calls, runs every image already queued, and returns
// when the last pass has ended. It does not close the model.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.quit)
	}
	b.mu.Unlock()
	b.loops.Wait()
	return nil
}
