package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// refAttention is softmax(scale·q·kᵀ + bias)·v in float64, with the
// all--Inf rule of Attention (zeros). It also returns, per output element,
// Σ_j p_j·|v_jc| + max_j |v_jc|·(score error scale), the size the error is
// measured against.
func refAttention(q, k, v []float32, ldq, ldk, ldv, nq, nk, hd int, scale float32, bias []float32, ldb int) (want, size []float64) {
	want, size = make([]float64, nq*hd), make([]float64, nq*hd)
	s := make([]float64, nk)
	for i := 0; i < nq; i++ {
		mx := math.Inf(-1)
		for j := 0; j < nk; j++ {
			var dot float64
			for c := 0; c < hd; c++ {
				dot += float64(q[i*ldq+c]) * float64(k[j*ldk+c])
			}
			s[j] = float64(scale) * dot
			if bias != nil {
				s[j] += float64(bias[i*ldb+j])
			}
			mx = math.Max(mx, s[j])
		}
		if math.IsInf(mx, -1) {
			for c := 0; c < hd; c++ {
				size[i*hd+c] = 1
			}
			continue
		}
		var sum float64
		for j := range s {
			s[j] = math.Exp(s[j] - mx)
			sum += s[j]
		}
		for c := 0; c < hd; c++ {
			var acc, mag float64
			for j := 0; j < nk; j++ {
				p := s[j] / sum
				acc += p * float64(v[j*ldv+c])
				mag += p * math.Abs(float64(v[j*ldv+c]))
			}
			want[i*hd+c], size[i*hd+c] = acc, mag+1e-3
		}
	}
	return want, size
}

type attnCase struct {
	nq, nk, hd int
	mask       string // "", "bias", "inf", "min", "allinf", "allmin"
}

func (c attnCase) String() string { return fmt.Sprintf("nq%d nk%d hd%d %s", c.nq, c.nk, c.hd, c.mask) }

func attnCases() []attnCase {
	var cs []attnCase
	for _, hd := range []int{1, 3, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 80, 96, 128} {
		for _, nq := range []int{1, 5, 13, 14, 15, 29, 57} {
			nk := []int{1, 2, 15, 16, 17, 31, 33, 255, 256, 257, 300, 513}[(hd+nq)%12]
			cs = append(cs, attnCase{nq, nk, hd, ""})
		}
	}
	for _, nk := range []int{1, 7, 32, 64, 197, 256, 257, 577} {
		for _, m := range []string{"", "bias", "inf", "min", "allinf", "allmin"} {
			cs = append(cs, attnCase{37, nk, 64, m})
		}
	}
	return cs
}

// TestAttention checks Attention and its plain twin against a float64
// reference at every level: tails of nq, nk and headDim around the tile
// sizes, strided operands, guard bands around the output, additive bias,
// -Inf and float32-minimum masks, fully masked rows.
func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := attnCases()
	type input struct {
		q, k, v, bias []float32
		ldq, ldk, ldv int
		ldb           int
		want, size    []float64
		scale         float32
	}
	ins := make([]input, len(cases))
	for n, c := range cases {
		in := &ins[n]
		in.ldq, in.ldk, in.ldv, in.ldb = c.hd+3, 3*c.hd+1, c.hd+5, c.nk+2
		in.q = kerneltest.Rand(rng, (c.nq-1)*in.ldq+c.hd, -2, 2)
		in.k = kerneltest.Rand(rng, (c.nk-1)*in.ldk+c.hd, -2, 2)
		in.v = kerneltest.Rand(rng, (c.nk-1)*in.ldv+c.hd, -1, 1)
		in.scale = float32(1 / math.Sqrt(float64(c.hd)))
		if c.mask != "" {
			in.bias = kerneltest.Rand(rng, (c.nq-1)*in.ldb+c.nk, -1, 1)
			fill := float32(math.Inf(-1))
			if c.mask == "min" || c.mask == "allmin" {
				fill = -math.MaxFloat32
			}
			for i := 0; i < c.nq; i++ {
				for j := 0; j < c.nk; j++ {
					switch c.mask {
					case "inf", "min":
						if (i+3*j)%4 == 0 || j > i+c.nk/2 {
							in.bias[i*in.ldb+j] = fill
						}
					case "allinf", "allmin":
						if i%3 == 1 { // some rows fully masked
							in.bias[i*in.ldb+j] = fill
						}
					}
				}
			}
		}
		in.want, in.size = refAttention(in.q, in.k, in.v, in.ldq, in.ldk, in.ldv, c.nq, c.nk, c.hd, in.scale, in.bias, in.ldb)
	}
	check := func(t *testing.T, what string, c attnCase, in *input, g *kerneltest.Guarded, ldd int) {
		t.Helper()
		g.Check(t, what+" dst")
		for i := 0; i < c.nq; i++ {
			for j := 0; j < c.hd; j++ {
				got := float64(g.At(i, j))
				w, sz := in.want[i*c.hd+j], in.size[i*c.hd+j]
				if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-w) > 2e-5*sz*math.Sqrt(float64(c.hd)+4) {
					t.Fatalf("%s %v: dst[%d,%d] = %v, want %v (size %.3g)", what, c, i, j, got, w, sz)
				}
			}
		}
	}
	kerneltest.Run(t, func(t *testing.T) {
		for n, c := range cases {
			in := &ins[n]
			ldd := c.hd + 2
			g := kerneltest.Matrix(c.nq, c.hd, ldd, n%5)
			kernels.Attention(g.Data(), ldd, in.q, in.k, in.v, in.ldq, in.ldk, in.ldv, c.nq, c.nk, c.hd, in.scale, in.bias, in.ldb)
			check(t, "Attention", c, in, g, ldd)
			if n%4 == 0 {
				r := kerneltest.Matrix(c.nq, c.hd, ldd, 1)
				kernels.AttentionRef(r.Data(), ldd, in.q, in.k, in.v, in.ldq, in.ldk, in.ldv, c.nq, c.nk, c.hd, in.scale, in.bias, in.ldb)
				check(t, "attentionRef", c, in, r, ldd)
			}
		}
	})
}

// TestAttentionEdges: empty sizes, nk == 0 (zeros), NaN propagation, and
// the shape checks.
func TestAttentionEdges(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		kv := make([]float32, 20)
		kernels.Attention(nil, 4, nil, kv, kv, 4, 4, 4, 0, 5, 4, 1, nil, 0)
		kernels.Attention(nil, 0, nil, nil, nil, 0, 0, 0, 3, 5, 0, 1, nil, 0)
		d := []float32{7, 7, 7, 7}
		kernels.Attention(d, 2, make([]float32, 4), nil, nil, 2, 2, 2, 2, 0, 2, 1, nil, 0)
		for _, x := range d {
			if x != 0 {
				t.Fatalf("nk == 0: dst = %v, want zeros", d)
			}
		}
		q := []float32{1, 2, 3, 4}
		k := []float32{1, float32(math.NaN()), 0, 1}
		v := []float32{1, 1, 1, 1}
		kernels.Attention(d, 2, q, k, v, 2, 2, 2, 2, 2, 2, 1, nil, 0)
		for _, x := range d {
			if x == x {
				t.Fatalf("NaN in k: dst = %v, want NaNs", d)
			}
		}
		for _, bad := range []func(){
			func() { kernels.Attention(make([]float32, 3), 2, q, k, v, 2, 2, 2, 2, 2, 2, 1, nil, 0) },
			func() { kernels.Attention(d, 2, q, k[:3], v, 2, 2, 2, 2, 2, 2, 1, nil, 0) },
			func() { kernels.Attention(d, 2, q, k, v, 2, 2, 2, 2, 2, 2, 1, make([]float32, 3), 2) },
			func() { kernels.Attention(d, 1, q, k, v, 2, 2, 2, 2, 2, 2, 1, nil, 0) },
			func() { kernels.Attention(d, 2, q, k, v, 2, 2, 2, -1, 2, 2, 1, nil, 0) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("bad shape did not panic")
					}
				}()
				bad()
			}()
		}
	})
}

// TestAttentionPacked checks that k and v packed once and used by query
// blocks of any size give Attention's bits, with an AttentionKV reused
// across shapes.
func TestAttentionPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	kerneltest.Run(t, func(t *testing.T) {
		var kv kernels.AttentionKV
		for _, c := range []attnCase{{57, 300, 64, "inf"}, {30, 17, 33, ""}, {200, 513, 80, "bias"}, {5, 0, 8, ""}, {9, 4, 1, "min"}} {
			ld := c.hd + 1
			q := kerneltest.Rand(rng, max(c.nq*ld, 1), -2, 2)
			k := kerneltest.Rand(rng, max(c.nk*ld, 1), -2, 2)
			v := kerneltest.Rand(rng, max(c.nk*ld, 1), -1, 1)
			var bias []float32
			if c.mask != "" {
				bias = kerneltest.Rand(rng, max(c.nq*c.nk, 1), -1, 1)
				for i := range bias {
					if c.mask != "bias" && i%5 == 0 {
						bias[i] = float32(math.Inf(-1))
					}
				}
			}
			scale := float32(0.125)
			want := make([]float32, c.nq*c.hd)
			kernels.Attention(want, c.hd, q, k, v, ld, ld, ld, c.nq, c.nk, c.hd, scale, bias, c.nk)
			kernels.PackAttentionKV(&kv, k, v, ld, ld, c.nk, c.hd)
			for _, block := range []int{1, 7, 64, 1000} {
				g := kerneltest.Matrix(c.nq, c.hd, c.hd, 2)
				for lo := 0; lo < c.nq; lo += block {
					rows := min(block, c.nq-lo)
					var b []float32
					if bias != nil {
						b = bias[lo*c.nk:]
					}
					kernels.AttentionPacked(g.Data()[lo*c.hd:], c.hd, q[lo*ld:], ld, rows, &kv, scale, b, c.nk)
				}
				g.Check(t, "AttentionPacked dst")
				for i := 0; i < c.nq; i++ {
					for j := 0; j < c.hd; j++ {
						if got, w := g.At(i, j), want[i*c.hd+j]; math.Float32bits(got) != math.Float32bits(w) {
							t.Fatalf("%v blocks of %d: dst[%d,%d] = %v, Attention gives %v", c, block, i, j, got, w)
						}
					}
				}
			}
		}
	})
}
