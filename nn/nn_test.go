package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// countJob counts how often each item runs and checks worker indexes.
type countJob struct {
	hits    []atomic.Int32
	workers int
	bad     atomic.Bool
}

func (j *countJob) Do(worker, item int) {
	if worker < 0 || worker >= j.workers {
		j.bad.Store(true)
	}
	j.hits[item].Add(1)
}

// TestWorkers: every item runs exactly once, with worker indexes below N,
// also with several callers sharing one pool, and Run allocates nothing.
func TestWorkers(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		w := NewWorkers(n)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var b Batch
				for _, items := range []int{0, 1, 7, 1000} {
					j := &countJob{hits: make([]atomic.Int32, items), workers: w.N()}
					w.Run(&b, j, items)
					for i := range j.hits {
						if h := j.hits[i].Load(); h != 1 {
							t.Errorf("n=%d items=%d: item %d ran %d times", n, items, i, h)
						}
					}
					if j.bad.Load() {
						t.Errorf("n=%d: a worker index out of range", n)
					}
				}
			}()
		}
		wg.Wait()
		var b Batch
		j := &countJob{hits: make([]atomic.Int32, 64), workers: w.N()}
		if a := testing.AllocsPerRun(20, func() { w.Run(&b, j, 64) }); a != 0 {
			t.Errorf("n=%d: Run allocates %v times", n, a)
		}
	}
}

func TestWeightsAccounting(t *testing.T) {
	src := MapSource{
		"a":     {Data: make([]float32, 6), Shape: []int{2, 3}},
		"b":     {Data: make([]float32, 3), Shape: []int{3}},
		"extra": {Data: make([]float32, 1), Shape: []int{1}},
		"ref_x": {Data: make([]float32, 1), Shape: []int{1}},
	}
	w := NewWeights(src)
	w.Get("a", 2, 3)
	w.Get("b", 3)
	err := w.Finish()
	if !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), `"extra"`) || !strings.Contains(err.Error(), `"ref_x"`) {
		t.Errorf("unused tensors: %v", err)
	}
	w = NewWeights(src)
	w.Ignore = func(n string) bool { return strings.HasPrefix(n, "ref_") }
	w.Get("a", 2, 3)
	w.Get("b", 3)
	w.Get("extra", 1)
	if err := w.Finish(); err != nil {
		t.Errorf("all used: %v", err)
	}
	w = NewWeights(src)
	w.Get("a", 3, 2)
	if err := w.Finish(); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), "[2 3]") || !strings.Contains(err.Error(), "[3 2]") {
		t.Errorf("wrong shape: %v", err)
	}
	w = NewWeights(src)
	if w.Get("missing", 4, 5) != nil || !strings.Contains(w.Err().Error(), `"missing" (shape [4 5]) is missing`) {
		t.Errorf("missing: %v", w.Err())
	}
	src["b"].Data[1] = float32(math.Inf(1))
	w = NewWeights(src)
	w.Get("b", 3)
	if err := w.Err(); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), "element 1 ") {
		t.Errorf("non-finite: %v", err)
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

// TestLinearLayerScale: γ folded into the weights gives γ ⊙ (x·Wᵀ + b).
func TestLinearLayerScale(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	in, out, rows := 37, 19, 5
	w, b, g, x := randVec(r, out*in), randVec(r, out), randVec(r, out), randVec(r, rows*in)
	kerneltest.Run(t, func(t *testing.T) {
		l := NewLinear(w, b, out, in, g)
		y := make([]float32, rows*out)
		l.Apply(1, rows, x, in, y, out, kernels.ActNone, nil)
		for i := range rows {
			for o := range out {
				var s float64
				for k := range in {
					s += float64(x[i*in+k]) * float64(w[o*in+k])
				}
				want := float64(g[o]) * (s + float64(b[o]))
				if d := math.Abs(float64(y[i*out+o]) - want); d > 1e-5 {
					t.Fatalf("row %d col %d: %v, want %v", i, o, y[i*out+o], want)
				}
			}
		}
	})
}

// TestGatedMLP: x += FC2(norm(act(h₁) ⊙ h₂)) with h = FC1(in).
func TestGatedMLP(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d, h, rows := 12, 10, 3
	w1, b1, w2, b2 := randVec(r, 2*h*d), randVec(r, 2*h), randVec(r, d*h), randVec(r, d)
	nw, nb := randVec(r, h), randVec(r, h)
	in, x0 := randVec(r, rows*d), randVec(r, rows*d)
	kerneltest.Run(t, func(t *testing.T) {
		for _, withNorm := range []bool{false, true} {
			m := MLP{FC1: NewLinear(w1, b1, 2*h, d, nil), FC2: NewLinear(w2, b2, d, h, nil), Act: kernels.ActSiLU, Gated: true}
			if withNorm {
				m.Norm = &LayerNorm{W: nw, B: nb, Eps: 1e-6}
			}
			if err := m.Check(d); err != nil {
				t.Fatal(err)
			}
			x := append([]float32(nil), x0...)
			m.Forward(1, rows, in, make([]float32, rows*m.Scratch()), x)
			var nwr, nbr []float32
			if withNorm {
				nwr, nbr = nw, nb
			}
			for i := range rows {
				ref := mlpReference(in[i*d:(i+1)*d], w1[:h*d], b1[:h], w1[h*d:], b1[h:], nwr, nbr, w2, b2, d, h, true)
				for o := range d {
					want := float64(x0[i*d+o]) + ref[o]
					if dd := math.Abs(float64(x[i*d+o]) - want); dd > 1e-4 {
						t.Fatalf("norm %v row %d col %d: %v, want %v", withNorm, i, o, x[i*d+o], want)
					}
				}
			}
		}
	})
}

// TestMLPPaddedHidden: an MLP whose FC1 output gets a padded row stride
// (kernels.GemmRowStride: 1024 → 1040) gives x += FC2(norm(GELU(FC1(in))))
// as float64 does, and a gated one (SwiGLU: SiLU of the first half times
// the second) x += FC2(norm(SiLU(g)·v)), the padding never read as
// values; 15 rows take a whole 14-row tile and a partial one.
func TestMLPPaddedHidden(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	d, w, rows := 8, 1024, 15 // w: FC1's output width
	if kernels.GemmRowStride(w) == w {
		t.Fatalf("GemmRowStride(%d) = %d: pick a width it pads", w, w)
	}
	w1, b1 := randVec(r, w*d), randVec(r, w)
	in, x0 := randVec(r, rows*d), randVec(r, rows*d)
	kerneltest.Run(t, func(t *testing.T) {
		for _, gated := range []bool{false, true} {
			h, act, scratch := w, kernels.ActGELU, kernels.GemmRowStride(w)
			if gated {
				h, act, scratch = w/2, kernels.ActSiLU, kernels.GemmRowStride(w)+w/2
			}
			w2, b2 := randVec(r, d*h), randVec(r, d)
			nw, nb := randVec(r, h), randVec(r, h)
			for _, withNorm := range []bool{false, true} {
				m := MLP{FC1: NewLinear(w1, b1, w, d, nil), FC2: NewLinear(w2, b2, d, h, nil), Act: act, Gated: gated}
				if withNorm {
					m.Norm = &LayerNorm{W: nw, B: nb, Eps: 1e-6}
				}
				if m.Scratch() != scratch {
					t.Fatalf("gated %v: Scratch() = %d, want the padded stride and the gate: %d", gated, m.Scratch(), scratch)
				}
				hidBuf := make([]float32, rows*m.Scratch())
				for i := range hidBuf {
					hidBuf[i] = float32(math.NaN()) // padding read as a value shows
				}
				x := append([]float32(nil), x0...)
				m.Forward(1, rows, in, hidBuf, x)
				var nwr, nbr []float32
				if withNorm {
					nwr, nbr = nw, nb
				}
				for i := range rows {
					// Plain: the gate rows are all of FC1 and the value unused.
					ref := mlpReference(in[i*d:(i+1)*d], w1[:h*d], b1[:h], w1[h*d:], b1[h:], nwr, nbr, w2, b2, d, h, gated)
					for o := range d {
						want := float64(x0[i*d+o]) + ref[o]
						if dd := math.Abs(float64(x[i*d+o]) - want); !(dd <= 1e-3) {
							t.Fatalf("gated %v norm %v row %d col %d: %v, want %v", gated, withNorm, i, o, x[i*d+o], want)
						}
					}
				}
			}
		}
	})
}

// TestAttendHead against float64, with strided q/k/v and a bias.
func TestAttendHead(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	nq, nk, hd, ld := 7, 13, 9, 30
	q, k, v := randVec(r, nq*ld), randVec(r, nk*ld), randVec(r, nk*ld)
	bias := randVec(r, nq*nk)
	kerneltest.Run(t, func(t *testing.T) {
		for _, withBias := range []bool{false, true} {
			out := make([]float32, nq*ld)
			var b []float32
			if withBias {
				b = bias
			}
			AttendHead(out, ld, q, ld, k, ld, v, ld, nq, nk, hd, 0.3, b, make([]float32, nq*nk))
			for i := range nq {
				p := make([]float64, nk)
				mx := math.Inf(-1)
				for j := range nk {
					var s float64
					for c := range hd {
						s += float64(q[i*ld+c]) * float64(k[j*ld+c])
					}
					s *= 0.3
					if withBias {
						s += float64(bias[i*nk+j])
					}
					p[j] = s
					mx = max(mx, s)
				}
				var sum float64
				for j := range p {
					p[j] = math.Exp(p[j] - mx)
					sum += p[j]
				}
				for c := range hd {
					var want float64
					for j := range nk {
						want += p[j] / sum * float64(v[j*ld+c])
					}
					if d := math.Abs(float64(out[i*ld+c]) - want); d > 1e-5 {
						t.Fatalf("bias %v q %d c %d: %v want %v", withBias, i, c, out[i*ld+c], want)
					}
				}
				for c := hd; c < ld; c++ {
					if out[i*ld+c] != 0 {
						t.Fatalf("wrote column %d past the head", c)
					}
				}
			}
		}
	})
}

// TestLifetime: Close waits for the passes in flight; later ones are refused.
func TestLifetime(t *testing.T) {
	var closed atomic.Bool
	l := NewLifetime(closerFunc(func() error { closed.Store(true); return nil }))
	if !l.Acquire() {
		t.Fatal("refused before Close")
	}
	done := make(chan struct{})
	go func() { l.Close(); close(done) }()
	time.Sleep(20 * time.Millisecond)
	if closed.Load() {
		t.Fatal("closed while a pass was in flight")
	}
	l.Release()
	<-done
	if !closed.Load() || l.Acquire() {
		t.Fatal("not closed, or a pass admitted after Close")
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// TestRegisterTwicePanics: a family name registered twice is caught at
// start-up instead of the registration order picking one.
func TestRegisterTwicePanics(t *testing.T) {
	saved := families
	defer func() { families = saved }()
	families = nil
	f := Family{Name: "x", Claims: func(string, Checkpoint) int { return 0 }}
	Register(f)
	defer func() {
		if recover() == nil {
			t.Error("registering \"x\" twice did not panic")
		}
	}()
	Register(f)
}

// TestInferHelpers: the shape of a missing tensor is nil, blocks are
// counted while consecutive, and config errors wrap ErrConfig.
func TestInferHelpers(t *testing.T) {
	src := MapSource{}
	for _, n := range []string{"blocks.0.norm1.weight", "blocks.1.norm1.weight", "blocks.3.norm1.weight"} {
		src[n] = Tensor{Data: make([]float32, 4), Shape: []int{4}}
	}
	ck := fakeCk{src}
	if s := ShapeOf(ck, "blocks.0.norm1.weight"); len(s) != 1 || s[0] != 4 {
		t.Errorf("shape %v, want [4]", s)
	}
	if s := ShapeOf(ck, "nope"); s != nil {
		t.Errorf("shape of a missing tensor %v, want nil", s)
	}
	if n := CountBlocks(ck, "blocks.", ".norm1.weight"); n != 2 {
		t.Errorf("%d blocks, want 2 (block 2 is missing)", n)
	}
	if err := ConfigErrorf("depth %d", 3); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "depth 3") {
		t.Errorf("ConfigErrorf: %v", err)
	}
}
