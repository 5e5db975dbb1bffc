package nn

import (
	"errors"
	"fmt"
)

// Runner is the shell every family's model runs in: the lifetime of the
// weights (a pass holds it; Close waits for passes in flight), the workers
// of one forward pass, and the workspaces of concurrent callers, W being
// the family's own workspace type. A family keeps its forward order in a
// RunFunc over its workspace and hands it to Forward and ForwardBatch.
type Runner[W any] struct {
	life    *Lifetime
	workers *Workers
	newWS   func() *W
	slots   Pool[slot[W]]
}

// RunFunc runs images packed into one call on a workspace: outs[i] gets
// imgs[i]'s results. Runner checks that there are images and as many
// outputs before calling it.
type RunFunc[W any] func(ws *W, imgs []Image, outs []Output) error

// slot is a workspace with the one-image batch Forward hands the RunFunc,
// so that a single forward pass allocates nothing.
type slot[W any] struct {
	ws  *W
	img [1]Image
	out [1]Output
}

// NewRunner starts threads workers (0: GOMAXPROCS) over life; newWS makes
// a workspace (it may read the runner's Threads: it is called only once a
// pass runs).
func NewRunner[W any](life *Lifetime, threads int, newWS func() *W) *Runner[W] {
	return &Runner[W]{life: life, workers: NewWorkers(threads), newWS: newWS}
}

// Lifetime is what Close releases, shared with WithThreads copies.
func (r *Runner[W]) Lifetime() *Lifetime { return r.life }

// Workers runs the items of one pass's jobs.
func (r *Runner[W]) Workers() *Workers { return r.workers }

// Threads is the number of workers of one forward pass.
func (r *Runner[W]) Threads() int { return r.workers.N() }

// Close waits for forward passes in flight, then releases the weights.
// Later forward passes (on any model sharing the lifetime) return ErrClosed.
func (r *Runner[W]) Close() error { return r.life.Close() }

// Forward runs one image as a batch of one.
func (r *Runner[W]) Forward(img Image, out *Output, run RunFunc[W]) error {
	if out == nil {
		return ErrNilOutput
	}
	if !r.life.Acquire() {
		return ErrClosed
	}
	defer r.life.Release()
	s := r.get()
	defer r.put(s)
	s.img[0], s.out[0] = img, *out
	err := run(s.ws, s.img[:], s.out[:])
	if err == nil {
		err = headOnly(s.out[:])
	}
	*out = s.out[0]
	s.img[0], s.out[0] = Image{}, Output{} // keep no caller memory alive
	return err
}

// ForwardBatch runs images of any sizes in one call of run.
func (r *Runner[W]) ForwardBatch(imgs []Image, outs []Output, run RunFunc[W]) error {
	if len(outs) != len(imgs) {
		return fmt.Errorf("%d images but %d outputs", len(imgs), len(outs))
	}
	if len(imgs) == 0 {
		return errors.New("no images")
	}
	if !r.life.Acquire() {
		return ErrClosed
	}
	defer r.life.Release()
	s := r.get()
	defer r.put(s)
	if err := run(s.ws, imgs, outs); err != nil {
		return err
	}
	return headOnly(outs)
}

// headOnly holds every family to Output.HeadOnly: the outputs that asked
// for the head alone keep no tokens (a family whose forward made them
// anyway drops them here), and a model without a head is an error.
func headOnly(outs []Output) error {
	for i := range outs {
		o := &outs[i]
		if !o.HeadOnly {
			continue
		}
		if len(o.Pooled) == 0 && len(o.Logits) == 0 {
			return ErrNoHead
		}
		o.Tokens = o.Tokens[:0]
	}
	return nil
}

func (r *Runner[W]) get() *slot[W] {
	if s := r.slots.Get(); s != nil {
		return s
	}
	return &slot[W]{ws: r.newWS()}
}

func (r *Runner[W]) put(s *slot[W]) { r.slots.Put(s) }

// Grow returns s resliced to n, reallocating only when it is too small:
// how a workspace sizes its buffers once and reuses them.
func Grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// PackedGroups runs n images as consecutive groups [lo, hi), each holding
// as many images as fit in limit tokens (tokens(i) each; an image over the
// limit runs alone), stopping at the first error: families whose packed
// passes gain only up to a size (Twins, Hiera) bound them this way.
func PackedGroups(n, limit int, tokens func(i int) int, run func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		hi, t := lo+1, tokens(lo)
		for hi < n && t+tokens(hi) <= limit {
			t += tokens(hi)
			hi++
		}
		if err := run(lo, hi); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}
