package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestHeadOnly: with Output.HeadOnly, a class-token head makes the last
// block compute only the rows it reads (and every other head all rows),
// with the pooled feature and logits of the full pass bit for bit, alone
// and packed beside images that want their tokens, short images and long
// (fused attention) ones, on one thread and three.
func TestHeadOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	short, long, other := randomImg(r, 40, 28), randomImg(r, 132, 132), randomImg(r, 24, 36)
	heads := []struct {
		name   string
		prefix int
		head   func(e *Encoder) Head
		keep   int // rows kept per head-only image; 0: all
	}{
		{"token", 1, func(e *Encoder) Head { return Head{Pool: PoolToken} }, 1},
		{"distilled", 2, func(e *Encoder) Head {
			d := e.Dim
			c := func() Linear { return NewLinear(randVec(r, 5*d), randVec(r, 5), 5, d, nil) }
			return Head{Pool: PoolToken, Tokens: 2, Classifiers: []Linear{c(), c()}}
		}, 2},
		{"avg", 1, func(e *Encoder) Head {
			return Head{Pool: PoolAvg, Classifiers: []Linear{NewLinear(randVec(r, 7*e.Dim), randVec(r, 7), 7, e.Dim, nil)}}
		}, 0},
	}
	levels := kerneltest.Run
	if testing.Short() {
		levels = func(t *testing.T, body func(t *testing.T)) { body(t) }
	}
	for _, h := range heads {
		t.Run(h.name, func(t *testing.T) {
			enc := randomEncoder(r)
			enc.PrefixN, enc.Prefix = h.prefix, randVec(r, h.prefix*enc.Dim)
			enc.Head = h.head(enc)
			levels(t, func(t *testing.T) {
				for _, threads := range []int{1, 3} {
					m, err := NewModel(enc, RunOptions{Threads: threads}, nil)
					if err != nil {
						t.Fatal(err)
					}
					imgs := []Image{short, long, other}
					full := make([]Output, len(imgs))
					if err := m.ForwardBatch(imgs, full); err != nil {
						t.Fatal(err)
					}
					for _, mask := range []int{0b111, 0b101, 0b010} {
						ws := newWorkspace(m)
						outs := make([]Output, len(imgs))
						want := 0
						for i := range outs {
							outs[i].HeadOnly = mask>>i&1 == 1
							n := h.prefix + m.Grid(imgs[i].H, imgs[i].W).N()
							if outs[i].HeadOnly && h.keep > 0 {
								n = h.keep
							}
							want += n
						}
						if err := ws.pass(imgs, outs); err != nil {
							t.Fatal(err)
						}
						if got := ws.kept(); got != want {
							t.Errorf("threads %d, mask %03b: the last block computed %d rows, want %d", threads, mask, got, want)
						}
						for i, o := range outs {
							if o.HeadOnly && len(o.Tokens) != 0 {
								t.Errorf("mask %03b: image %d asked for the head alone and got %d token values", mask, i, len(o.Tokens))
							}
							if !o.HeadOnly && maxAbsDiff(o.Tokens, full[i].Tokens) != 0 {
								t.Errorf("threads %d, mask %03b: image %d's tokens differ", threads, mask, i)
							}
							if maxAbsDiff(o.Pooled, full[i].Pooled) != 0 || maxAbsDiff(o.Logits, full[i].Logits) != 0 {
								t.Errorf("threads %d, mask %03b: image %d's head differs by %g, %g", threads, mask, i,
									maxAbsDiff(o.Pooled, full[i].Pooled), maxAbsDiff(o.Logits, full[i].Logits))
							}
						}
					}
					m.Close()
				}
			})
		})
	}
	t.Run("no head", func(t *testing.T) {
		enc := randomEncoder(r)
		enc.Head = Head{Pool: PoolNone}
		m, err := NewModel(enc, RunOptions{Threads: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		out := Output{HeadOnly: true}
		if err := m.Forward(short, &out); !errors.Is(err, ErrNoHead) {
			t.Errorf("HeadOnly without a head: %v, want ErrNoHead", err)
		}
	})
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1e30
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
