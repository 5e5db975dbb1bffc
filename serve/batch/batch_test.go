package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// tinyModel loads the small test checkpoint.
func tinyModel(t testing.TB, opts anyres.Options) anyres.Model {
	t.Helper()
	m, err := anyres.Load(filepath.Join(golden.Dir(t), "..", "models", "vit_tiny.safetensors"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// randomImage is a c×h×w image of values in [-2, 2).
func randomImage(seed uint64, c, h, w int) nn.Image {
	r := rand.New(rand.NewPCG(seed, 1))
	pix := make([]float32, c*h*w)
	for i := range pix {
		pix[i] = 4*r.Float32() - 2
	}
	return nn.Image{C: c, H: h, W: w, Pix: pix}
}

// within reports the first value of got that differs from want by more
// than tol (relative to max(1, |want|)), or "" when none does.
func within(name string, got, want []float32, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) {
			return fmt.Sprintf("%s[%d] = %g, want %g", name, i, got[i], want[i])
		}
	}
	return ""
}

func sameOutput(got, want *nn.Output) string {
	if got.Grid != want.Grid || got.Prefix != want.Prefix {
		return fmt.Sprintf("grid %v + %d, want %v + %d", got.Grid, got.Prefix, want.Grid, want.Prefix)
	}
	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"tokens", got.Tokens, want.Tokens}, {"pooled", got.Pooled, want.Pooled}, {"logits", got.Logits, want.Logits}} {
		if msg := within(c.name, c.got, c.want, 1e-5); msg != "" {
			return msg
		}
	}
	return ""
}

// Concurrent callers with images of different sizes get, each, what the
// model gives their image alone, and they were really packed together: in
// one pass with one pass at a time, in one pass per thread when the passes
// share the model's two threads.
func TestConcurrentCallersGetTheirOwnResult(t *testing.T) {
	t.Run("one pass", func(t *testing.T) { testOwnResults(t, 1) })
	t.Run("shared threads", func(t *testing.T) { testOwnResults(t, 0) })
}

func testOwnResults(t *testing.T, passCount int) {
	m := tinyModel(t, anyres.Options{Threads: 2})
	p := m.Info().Patch
	sizes := [][2]int{{2, 2}, {3, 5}, {5, 3}, {4, 4}, {1, 7}, {6, 2}, {2, 3}, {3, 3}}
	var mu sync.Mutex
	var passes []Pass
	// The pass starts when every caller has queued (the image cap), not
	// after a time that assumes a speed.
	b, err := New(m, Options{MaxImages: len(sizes), Wait: time.Hour, Passes: passCount, Observe: func(ps Pass) {
		mu.Lock()
		passes = append(passes, ps)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	imgs := make([]nn.Image, len(sizes))
	want := make([]nn.Output, len(sizes))
	for i, s := range sizes {
		// Sizes not a multiple of the patch too: the edge policy applies.
		imgs[i] = randomImage(uint64(i), m.Info().Channels, s[0]*p[0]+i%3, s[1]*p[1])
		if err := m.Forward(imgs[i], &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]nn.Output, len(sizes))
	errs := make([]error, len(sizes))
	var wg sync.WaitGroup
	for i := range sizes {
		wg.Go(func() { errs[i] = b.Forward(context.Background(), imgs[i], &got[i]) })
	}
	wg.Wait()
	for i := range sizes {
		if errs[i] != nil {
			t.Fatalf("image %d: %v", i, errs[i])
		}
		if msg := sameOutput(&got[i], &want[i]); msg != "" {
			t.Errorf("image %d (%dx%d): %s", i, imgs[i].H, imgs[i].W, msg)
		}
	}
	// One pass takes all; two shared threads split the queue in halves
	// (a pass that ends before the other starts may split the rest again).
	most := len(sizes)
	if passCount == 0 {
		most = len(sizes) / 2
	}
	images, tokens, gotTokens := 0, 0, 0
	for _, ps := range passes {
		images += ps.Images
		gotTokens += ps.Tokens
		if ps.Images > most {
			t.Errorf("passes %+v, want passes of at most %d images", passes, most)
		}
	}
	if passCount == 1 && len(passes) != 1 {
		t.Errorf("passes %+v, want one", passes)
	}
	if images != len(sizes) {
		t.Errorf("passes %+v ran %d images, want %d", passes, images, len(sizes))
	}
	for _, img := range imgs {
		tokens += b.Tokens(img.H, img.W)
	}
	if gotTokens != tokens {
		t.Errorf("passes of %d tokens, want %d", gotTokens, tokens)
	}
}

// The token budget splits the queue into passes, oldest first.
func TestTokenBudgetSplitsPasses(t *testing.T) {
	f := newFake()
	img := randomImage(1, 3, 32, 32) // 4 patches + 1 prefix = 5 tokens
	tok := 5
	b, _ := New(f, Options{MaxTokens: 2 * tok, Wait: -1})
	defer b.Close()
	// Hold the model busy with one image so that the next five queue.
	first := f.hold()
	var wg sync.WaitGroup
	var out0 nn.Output
	wg.Go(func() { b.Forward(context.Background(), img, &out0) })
	<-first
	outs := make([]nn.Output, 5)
	for i := range outs {
		wg.Go(func() {
			if err := b.Forward(context.Background(), img, &outs[i]); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, func() bool { return b.QueueLen() == 5 })
	f.release()
	wg.Wait()
	want := []int{1, 2, 2, 1}
	if got := f.sizes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("passes of %v images, want %v", got, want)
	}
}

// A caller whose context ends while it is queued leaves at once; the pass
// runs without it and the others get their results.
func TestCancelledCallerLeavesQueue(t *testing.T) {
	f := newFake()
	b, _ := New(f, Options{Wait: -1})
	defer b.Close()
	first := f.hold()
	var wg sync.WaitGroup
	var out nn.Output
	wg.Go(func() { b.Forward(context.Background(), randomImage(0, 3, 16, 16), &out) })
	<-first

	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error)
	go func() {
		var o nn.Output
		left <- b.Forward(ctx, randomImage(1, 3, 16, 16), &o)
	}()
	stay := randomImage(2, 3, 16, 16)
	var got nn.Output
	var stayErr error
	wg.Go(func() { stayErr = b.Forward(context.Background(), stay, &got) })
	waitFor(t, func() bool { return b.QueueLen() == 2 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	if n := b.QueueLen(); n != 1 {
		t.Errorf("queue of %d after the cancel, want 1", n)
	}
	f.release()
	wg.Wait()
	if stayErr != nil || len(got.Pooled) != 1 || got.Pooled[0] != sum(stay.Pix) {
		t.Errorf("remaining caller: %v %v, want its own sum %g", stayErr, got.Pooled, sum(stay.Pix))
	}
	if got := f.sizes(); fmt.Sprint(got) != "[1 1]" {
		t.Errorf("passes of %v images, want [1 1] (the cancelled image never runs)", got)
	}
}

// A caller whose context ends during its pass gets ctx.Err() when the pass
// ends; the pass is not cut short for it.
func TestCancelDuringPass(t *testing.T) {
	f := newFake()
	b, _ := New(f, Options{Wait: -1})
	defer b.Close()
	started := f.hold()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	var out nn.Output
	go func() { errc <- b.Forward(ctx, randomImage(0, 3, 16, 16), &out) }()
	<-started
	cancel()
	select {
	case err := <-errc:
		t.Fatalf("returned %v while its pass still read the image", err)
	case <-time.After(20 * time.Millisecond):
	}
	f.release()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// With two passes at once, a pass held up does not hold up the next.
func TestTwoPasses(t *testing.T) {
	f := newFake()
	b, _ := New(f, Options{Wait: -1, Passes: 2})
	defer b.Close()
	started := f.hold()
	held := make(chan error)
	var o1 nn.Output
	go func() { held <- b.Forward(context.Background(), randomImage(0, 3, 16, 16), &o1) }()
	<-started
	var o2 nn.Output
	if err := b.Forward(context.Background(), randomImage(1, 3, 16, 16), &o2); err != nil || len(o2.Pooled) != 1 {
		t.Errorf("second pass: %v %v", err, o2.Pooled)
	}
	f.release()
	if err := <-held; err != nil {
		t.Error(err)
	}
}

// With two passes at once, the queue is split between the idle loops, not
// taken whole by the first: one pass per core keeps both cores busy.
func TestPassesShareTheQueue(t *testing.T) {
	f := newFake()
	// The first pass starts when all eight have queued (the image cap).
	b, _ := New(f, Options{Wait: time.Hour, MaxImages: 8, Passes: 2})
	defer b.Close()
	// The other loop takes the rest at once, without waiting for the
	// held pass or for Wait.
	secondWhileFirstHeld(t, f, b, 8)
	if got := f.sizes(); fmt.Sprint(got) != "[4 4]" {
		t.Errorf("passes of %v images, want [4 4]", got)
	}
}

// A full queue refuses at once with ErrOverloaded.
func TestOverload(t *testing.T) {
	f := newFake()
	b, _ := New(f, Options{Wait: -1, Queue: 2})
	defer b.Close()
	started := f.hold()
	var wg sync.WaitGroup
	var outs [3]nn.Output
	wg.Go(func() { b.Forward(context.Background(), randomImage(0, 3, 16, 16), &outs[0]) })
	<-started
	for i := 1; i < 3; i++ {
		wg.Go(func() { b.Forward(context.Background(), randomImage(0, 3, 16, 16), &outs[i]) })
	}
	waitFor(t, func() bool { return b.QueueLen() == 2 })
	var o nn.Output
	if err := b.Forward(context.Background(), randomImage(0, 3, 16, 16), &o); !errors.Is(err, ErrOverloaded) {
		t.Errorf("got %v, want ErrOverloaded", err)
	}
	f.release()
	wg.Wait()
}

// A bad image is refused before it queues, naming what is wrong.
func TestBadImage(t *testing.T) {
	b, _ := New(newFake(), Options{})
	defer b.Close()
	var o nn.Output
	for _, img := range []nn.Image{randomImage(0, 1, 16, 16), randomImage(0, 3, 8, 16), {C: 3, H: 16, W: 16}} {
		if err := b.Forward(context.Background(), img, &o); !errors.Is(err, nn.ErrImage) {
			t.Errorf("%dx%dx%d with %d values: %v, want ErrImage", img.C, img.H, img.W, len(img.Pix), err)
		}
	}
}

// Two images that fit the model's token cap alone but not together (the
// batch budget is larger than the cap) still each get their result.
func TestFailedBatchRunsEachAlone(t *testing.T) {
	m := tinyModel(t, anyres.Options{MaxTokens: 40})
	b, _ := New(m, Options{MaxImages: 2, Wait: time.Hour})
	defer b.Close()
	p := m.Info().Patch
	imgs := []nn.Image{randomImage(1, 3, 5*p[0], 5*p[1]), randomImage(2, 3, 4*p[0], 6*p[1])}
	var wg sync.WaitGroup
	outs := make([]nn.Output, 2)
	for i := range imgs {
		wg.Go(func() {
			if err := b.Forward(context.Background(), imgs[i], &outs[i]); err != nil {
				t.Errorf("image %d: %v", i, err)
				return
			}
			var want nn.Output
			if err := m.Forward(imgs[i], &want); err != nil {
				t.Error(err)
			} else if msg := sameOutput(&outs[i], &want); msg != "" {
				t.Errorf("image %d: %s", i, msg)
			}
		})
	}
	wg.Wait()
	// One too large for the cap gets the model's own error.
	alone, _ := New(m, Options{Wait: -1})
	defer alone.Close()
	var o nn.Output
	if err := alone.Forward(context.Background(), randomImage(3, 3, 7*p[0], 7*p[1]), &o); !errors.Is(err, nn.ErrTooManyTokens) {
		t.Errorf("an image over the cap: %v, want ErrTooManyTokens", err)
	}
}

// Close runs what is queued, then refuses.
func TestCloseDrains(t *testing.T) {
	f := newFake()
	b, _ := New(f, Options{Wait: -1})
	started := f.hold()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	outs := make([]nn.Output, 4)
	wg.Go(func() { errs[0] = b.Forward(context.Background(), randomImage(0, 3, 16, 16), &outs[0]) })
	<-started
	for i := 1; i < 4; i++ {
		wg.Go(func() { errs[i] = b.Forward(context.Background(), randomImage(0, 3, 16, 16), &outs[i]) })
	}
	waitFor(t, func() bool { return b.QueueLen() == 3 })
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	waitFor(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.closed
	})
	var o nn.Output
	if err := b.Forward(context.Background(), randomImage(0, 3, 16, 16), &o); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	f.release()
	wg.Wait()
	<-closed
	for i, err := range errs {
		if err != nil || len(outs[i].Pooled) != 1 {
			t.Errorf("caller %d: %v %v", i, err, outs[i].Pooled)
		}
	}
}

// A warm call allocates nothing: the batcher reuses its requests and the
// caller's output buffers.
func TestForwardAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector and emulators (and sync.Pool drops items under -race)")
	}
	m := tinyModel(t, anyres.Options{Threads: 1})
	b, _ := New(m, Options{Wait: -1})
	defer b.Close()
	img := randomImage(0, 3, 32, 48)
	var out nn.Output
	ctx := context.Background()
	if err := b.Forward(ctx, img, &out); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { b.Forward(ctx, img, &out) }); n != 0 {
		t.Errorf("%g allocations per warm call, want 0", n)
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(newFake(), Options{Queue: -1}); err == nil {
		t.Error("a negative queue was accepted")
	}
	b, _ := New(newFake(), Options{})
	defer b.Close()
	if o := b.Options(); o.MaxTokens != DefaultMaxTokens || o.MaxImages != DefaultMaxImages || o.Wait != DefaultWait || o.Queue != DefaultQueue {
		t.Errorf("defaults %+v", o)
	}
}

// waitFor polls cond (state that other goroutines reach) for up to a
// minute: generous, so that a busy machine does not fail the test.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

func sum(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s
}

// secondWhileFirstHeld sends n images at once through b and holds the
// first pass f runs until a second has started (waiting for it, without a
// time that assumes a speed), then lets both finish.
func secondWhileFirstHeld(t *testing.T, f *fake, b *Batcher, n int) {
	t.Helper()
	started := f.hold()
	var wg sync.WaitGroup
	outs := make([]nn.Output, n)
	for i := range outs {
		wg.Go(func() {
			if err := b.Forward(context.Background(), randomImage(uint64(i), 3, 16, 16), &outs[i]); err != nil {
				t.Error(err)
			}
		})
	}
	<-started
	waitFor(t, func() bool { return len(f.sizes()) == 2 })
	f.release()
	wg.Wait()
}

// fake is a model whose pooled output is the sum of the image's values, and
// whose next pass can be held until released. It runs on one thread;
// WithThreads gives views of it on others, which record the threads of
// each pass.
type fake struct {
	*fakeState
	threads int
}

type fakeState struct {
	mu      sync.Mutex
	passes  []int         // images of each pass, in the order they started
	threads []int         // threads of each pass
	gate    chan struct{} // a held pass waits for it
	start   chan struct{} // closed when the held pass starts
}

func newFake() *fake { return &fake{fakeState: &fakeState{}, threads: 1} }

// onThreads is a fake whose Threads is n.
func onThreads(n int) *fake { return &fake{fakeState: &fakeState{}, threads: n} }

// hold makes the next pass wait for release; the channel closes when it starts.
func (f *fake) hold() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate, f.start = make(chan struct{}), make(chan struct{})
	return f.start
}

func (f *fake) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.gate)
	f.gate = nil
}

func (f *fake) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.passes...)
}

// passThreads is the threads of each pass so far.
func (f *fake) passThreads() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.fakeState.threads...)
}

func (f *fake) ForwardBatch(imgs []nn.Image, outs []nn.Output) error {
	f.mu.Lock()
	f.passes = append(f.passes, len(imgs))
	f.fakeState.threads = append(f.fakeState.threads, f.threads)
	gate, start := f.gate, f.start
	f.start = nil
	f.mu.Unlock()
	if start != nil {
		close(start)
		<-gate
	}
	for i, img := range imgs {
		outs[i].Pooled = append(outs[i].Pooled[:0], sum(img.Pix))
	}
	return nil
}

func (f *fake) Forward(img nn.Image, out *nn.Output) error {
	outs := []nn.Output{*out}
	err := f.ForwardBatch([]nn.Image{img}, outs)
	*out = outs[0]
	return err
}

func (f *fake) Grid(h, w int) posenc.Grid { return nn.GridFor(h, w, [2]int{16, 16}, nn.EdgeCrop) }
func (f *fake) Info() nn.Info {
	return nn.Info{Family: "fake", Width: 1, Patch: [2]int{16, 16}, Channels: 3, Prefix: 1}
}
func (f *fake) Close() error             { return nil }
func (f *fake) WithThreads(n int) nn.Net { return &fake{fakeState: f.fakeState, threads: n} }
func (f *fake) Threads() int             { return f.threads }
func (f *fake) Tokens(h, w int) int      { return f.Grid(h, w).N() + f.Info().Prefix }
func (f *fake) MaxTokens() int           { return 1 << 20 }
func (f *fake) FLOPs(h, w int) float64   { return float64(f.Tokens(h, w)) }
