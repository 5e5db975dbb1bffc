package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
	"github.com/anyres/anyres/posenc"
)

// rampBias is a test attention bias: head h adds (h+1)·0.01·(j−i) between
// query i and key j, so rows differ and the bias path is exercised.
type rampBias struct{ heads int }

func (b rampBias) Heads() int { return b.heads }
func (b rampBias) AddBias(scores []float32, head int, g posenc.Grid, prefix, lo, hi int) error {
	n := prefix + g.N()
	for i := lo; i < hi; i++ {
		for j := 0; j < n; j++ {
			scores[(i-lo)*n+j] += float32(head+1) * 0.01 * float32(j-i)
		}
	}
	return nil
}

// randomEncoder is a small pre-norm ViT with random weights.
func randomEncoder(r *rand.Rand) *Encoder {
	d, heads, h, p, c := 32, 2, 64, [2]int{4, 4}, 3
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = (r.Float32()*2 - 1) * s
		}
		return v
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	e := &Encoder{Dim: d, Heads: heads, PrefixN: 1, Prefix: vec(d, 1), Pos: posenc.None{},
		Patch: NewPatchEmbed(vec(d*c*p[0]*p[1], 0.2), vec(d, 0.1), d, c, p), Bias: rampBias{heads}}
	for range 2 {
		e.Blocks = append(e.Blocks, Block{
			Norm1: LayerNorm{W: ones(d), B: make([]float32, d), Eps: 1e-6},
			QKV:   NewLinear(vec(3*d*d, 0.3), vec(3*d, 0.1), 3*d, d, nil),
			Proj:  NewLinear(vec(d*d, 0.2), vec(d, 0.1), d, d, nil),
			Norm2: LayerNorm{W: ones(d), B: make([]float32, d), Eps: 1e-6},
			MLP:   MLP{FC1: NewLinear(vec(h*d, 0.2), vec(h, 0.1), h, d, nil), FC2: NewLinear(vec(d*h, 0.2), vec(d, 0.1), d, h, nil), Act: kernels.ActGELU},
		})
	}
	e.Norm = &LayerNorm{W: ones(d), B: make([]float32, d), Eps: 1e-6}
	e.Head = Head{Pool: PoolToken}
	return e
}

func randomImg(r *rand.Rand, h, w int) Image {
	img := Image{C: 3, H: h, W: w, Pix: make([]float32, 3*h*w)}
	for i := range img.Pix {
		img.Pix[i] = r.Float32()*2 - 1
	}
	return img
}

// TestFusedAttention: a long image (1 + 33² = 1090 tokens) through the
// fused path agrees with the plain one, gives the same bits on any thread
// count, and packed with a short image equals running each alone.
func TestFusedAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	enc := randomEncoder(r)
	long, short := randomImg(r, 132, 132), randomImg(r, 40, 28)
	levels := kerneltest.Run
	if testing.Short() { // race detector and emulators: the best level only
		levels = func(t *testing.T, body func(t *testing.T)) { body(t) }
	}
	levels(t, func(t *testing.T) {
		run := func(threads int, imgs ...Image) []Output {
			m, err := NewModel(enc, RunOptions{Threads: threads}, nil)
			if err != nil {
				t.Fatal(err)
			}
			outs := make([]Output, len(imgs))
			if err := m.ForwardBatch(imgs, outs); err != nil {
				t.Fatal(err)
			}
			return outs
		}
		fused := run(1, long)[0]
		if n := fused.Prefix + fused.Grid.N(); n < fusedFrom() {
			t.Fatalf("%d tokens do not reach the fused path", n)
		}
		old := fusedMinKeys
		fusedMinKeys = math.MaxInt
		plain := run(1, long)[0]
		fusedMinKeys = old
		var worst float64
		for i := range plain.Tokens {
			worst = max(worst, math.Abs(float64(fused.Tokens[i]-plain.Tokens[i])))
		}
		if worst > 1e-4 {
			t.Errorf("fused and plain attention differ by %g", worst)
		}
		for _, threads := range []int{2, 3} {
			o := run(threads, long)[0]
			for i := range o.Tokens {
				if o.Tokens[i] != fused.Tokens[i] {
					t.Fatalf("%d threads: token value %d differs", threads, i)
				}
			}
		}
		m, err := NewModel(enc, RunOptions{Threads: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var o Output
		for range 3 {
			m.Forward(long, &o)
		}
		if a := testing.AllocsPerRun(3, func() { m.Forward(long, &o) }); a != 0 {
			t.Errorf("a warm fused forward allocates %v times", a)
		}
		alone := run(2, short)[0]
		both := run(2, short, long)
		for i := range both[1].Tokens {
			if both[1].Tokens[i] != fused.Tokens[i] {
				t.Fatalf("packed long image: value %d differs from alone", i)
			}
		}
		for i := range both[0].Tokens {
			if both[0].Tokens[i] != alone.Tokens[i] {
				t.Fatalf("packed short image: value %d differs from alone", i)
			}
		}
	})
}

// TestWorkspaceReservesEveryWorkersKV: sizing a workspace for a long image
// grows every worker's packed keys and values, not only those that happen
// to run a fused item, so no warm forward allocates whichever worker the
// scheduler hands an attention item to (an allocation that came and went
// with the machine's load).
func TestWorkspaceReservesEveryWorkersKV(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	enc := randomEncoder(r)
	m, err := NewModel(enc, RunOptions{Threads: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := randomImg(r, 132, 132)
	hd := enc.HeadDim()
	// mallocs is how often worker w's first packing after sizing a fresh
	// workspace allocates. Not testing.AllocsPerRun: its warm-up call would
	// do the growing. MemStats counts every goroutine's allocations, so a
	// stray one elsewhere can land in the window: a count is believed only
	// if it repeats, while a missing reservation allocates every time.
	mallocs := func(w int) uint64 {
		ws := newWorkspace(m)
		if err := ws.pack([]Image{long}, nil); err != nil {
			t.Fatal(err)
		}
		n := ws.segs[0].n
		if n < fusedFrom() {
			t.Fatalf("%d tokens do not reach the fused path", n)
		}
		k := make([]float32, n*hd)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kernels.PackAttentionKV(&ws.work[w].kv, k, k, hd, hd, n, hd)
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	for w := range m.Threads() {
		a := mallocs(w)
		for try := 0; try < 3 && a != 0; try++ {
			a = min(a, mallocs(w))
		}
		if a != 0 {
			t.Errorf("worker %d: packing keys allocates %d times after sizing", w, a)
		}
	}
}
