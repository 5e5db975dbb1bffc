package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestAttnArgsLayout: the assembly reads attnArgs at fixed offsets (those
// in internal/asmgen/attention).
func TestAttnArgsLayout(t *testing.T) {
	var a attnArgs
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"q", unsafe.Offsetof(a.q), 0}, {"k", unsafe.Offsetof(a.k), 8}, {"v", unsafe.Offsetof(a.v), 16},
		{"s", unsafe.Offsetof(a.s), 24}, {"o", unsafe.Offsetof(a.o), 32}, {"bias", unsafe.Offsetof(a.bias), 40},
		{"m", unsafe.Offsetof(a.m), 48}, {"l", unsafe.Offsetof(a.l), 56}, {"hd", unsafe.Offsetof(a.hd), 64},
		{"kw", unsafe.Offsetof(a.kw), 72}, {"kStep", unsafe.Offsetof(a.kStep), 80}, {"vStep", unsafe.Offsetof(a.vStep), 88},
		{"ldo", unsafe.Offsetof(a.ldo), 96}, {"ldb", unsafe.Offsetof(a.ldb), 104}, {"bStep", unsafe.Offsetof(a.bStep), 112},
		{"scale", unsafe.Offsetof(a.scale), 120}, {"alpha", unsafe.Offsetof(a.alpha), 124},
		{"shift", unsafe.Offsetof(a.shift), 188}, {"sums", unsafe.Offsetof(a.sums), 252},
		{"dst", unsafe.Offsetof(a.dst), 320}, {"ldd", unsafe.Offsetof(a.ldd), 328},
		{"inv", unsafe.Offsetof(a.inv), 336}, {"keep", unsafe.Offsetof(a.keep), 400}, {"dcol", unsafe.Offsetof(a.dcol), 464},
	} {
		if unsafe.Sizeof(uintptr(0)) == 8 && f.got != f.want {
			t.Errorf("attnArgs.%s at offset %d, the assembly reads %d", f.name, f.got, f.want)
		}
	}
}

const attnGuard = 0x7fc0beef // a NaN payload no kernel computes

func attnGuarded(n, band int) []float32 {
	b := make([]float32, n+2*band)
	for i := range b {
		b[i] = math.Float32frombits(attnGuard)
	}
	return b
}

// attnFill sets b[lo:hi] to random values in [-w, w].
func attnFill(rng *rand.Rand, b []float32, w float64) {
	for i := range b {
		b[i] = float32((2*rng.Float64() - 1) * w)
	}
}

// TestAttnKernels runs every level's fused attention kernels against
// attnPanelGo, their specification, on the same operands: every row count,
// head dims of the model families (32, 64, 80, 96) and odd ones, key
// blocks with tails, bias absent, present and with -Inf entries (whole rows
// too), over two consecutive key blocks (so the running max, sum and
// output rescale are exercised). Outputs sit in guard bands: the output
// rows' padding past the written columns, the score rows past h, and the
// words after m and l must keep their guard NaNs.
func TestAttnKernels(t *testing.T) {
	for _, lv := range Levels() {
		restore, err := SetLevel(lv)
		if err != nil {
			t.Fatal(err)
		}
		mk := gemmLevel
		restore()
		if mk.attn == nil {
			continue
		}
		t.Run(lv.String(), func(t *testing.T) { testAttnKernels(t, mk) })
	}
}

func testAttnKernels(t *testing.T, mk *gemmMicro) {
	directs := []bool{false}
	if mk.attnOut {
		directs = append(directs, true)
	}
	for _, direct := range directs {
		testAttnKernelsOut(t, mk, direct)
	}
}

// testAttnKernelsOut runs testAttnKernels' cases with the last block's
// rows left in o (direct false) or written finished to a dst whose rows
// have a guarded gap past hd columns (direct true).
func testAttnKernelsOut(t *testing.T, mk *gemmMicro, direct bool) {
	rng := rand.New(rand.NewPCG(3, 4))
	mr := mk.mr
	const band = 40
	for _, hd := range []int{1, 17, 32, 64, 80, 96} {
		for _, kw := range []int{1, 15, 16, 17, 31, 32, 33, 100, 255, 256} {
			for _, mask := range []string{"", "bias", "inf"} {
				h := 1 + (hd+kw+len(mask))%mr
				if kw == 256 {
					h = mr
				}
				name := fmt.Sprintf("hd%d kw%d h%d %s direct=%v", hd, kw, h, mask, direct)
				// Two blocks: one of whole panels (blocks start on a
				// panel), then one of kw keys.
				// (At most 252 keys on arm64, whose panels are 12 wide.)
				kb := attnKeyBlock / gemmPanel * gemmPanel
				kw := min(kw, kb)
				blocks := []int{min(roundUp(kw, gemmPanel), kb), kw}
				nk := blocks[0] + blocks[1]
				q := make([]float32, mr*hd+gemmPackSlack)
				attnFill(rng, q, 2)
				kp := make([]float32, packedBLen(hd, nk))
				attnFill(rng, kp, 2)
				vp := make([]float32, packedBLen(nk, hd))
				attnFill(rng, vp, 1)
				ldb := nk + 3
				var bias []float32
				if mask != "" {
					bias = make([]float32, h*ldb)
					attnFill(rng, bias, 1)
					if mask == "inf" {
						for i := range bias {
							r, j := i/ldb, i%ldb
							if r%3 == 1 || (r+j)%4 == 0 {
								bias[i] = negInf
							}
						}
					}
				}
				// The output's row stride leaves a gap past the columns
				// the kernel writes (whole 16-column panels).
				ldo := roundUp(hd, mk.nr) + 5
				ldd := hd + 3
				var got, want [5][]float32 // o, s, m, l, dst (with bands)
				for x, n := range []int{(h-1)*ldo + roundUp(hd, mk.nr), mr * attnKeyBlock, h, h, (h-1)*ldd + hd} {
					got[x], want[x] = attnGuarded(n, band), attnGuarded(n, band)
				}
				for _, st := range [][5][]float32{got, want} {
					for r := 0; r < h; r++ {
						// The columns up to the panel's end are the
						// kernel's (it writes whole panels).
						clear(st[0][band+r*ldo : band+r*ldo+roundUp(hd, gemmPanel)])
						st[2][band+r], st[3][band+r] = negInf, 0
					}
				}
				run := func(st [5][]float32, f func(*attnArgs)) {
					a := &attnArgs{
						q: &q[0], s: &st[1][band], o: &st[0][band], m: &st[2][band], l: &st[3][band],
						hd: hd, kStep: hd * gemmPanel * 4, vStep: nk * gemmPanel * 4, ldo: ldo * 4,
						bias: &attnZeros[0], scale: 0.3,
					}
					for j0, b := 0, 0; j0 < nk; j0, b = j0+blocks[b], b+1 {
						a.kw = blocks[b]
						a.k, a.v = &kp[j0*hd], &vp[j0*gemmPanel]
						if bias != nil {
							a.bias, a.ldb, a.bStep = &bias[j0], ldb*4, 128
						}
						if direct && j0+blocks[b] == nk {
							a.dst, a.ldd = &st[4][band], ldd*4
						}
						f(a)
					}
				}
				run(got, mk.attn[h-1])
				run(want, func(a *attnArgs) { attnPanelGo(a, h, mr) })
				for x, what := range []string{"o", "s", "m", "l", "dst"} {
					g, w := got[x], want[x]
					for i := range g {
						if c := (i - band) % attnKeyBlock; what == "s" && i >= band && (i-band)/attnKeyBlock < h && c >= kw {
							continue // the score rows' padding: scratch the kernel may write
						}
						gb, wb := math.Float32bits(g[i]), math.Float32bits(w[i])
						if wb == attnGuard || gb == attnGuard {
							if gb != wb {
								t.Fatalf("%s: %s[%d]: %#x, want %#x (guard)", name, what, i-band, gb, wb)
							}
							continue
						}
						if c := (i - band) % ldo; what == "o" && c >= hd {
							continue // panel padding: written, never read
						}
						gv, wv := float64(g[i]), float64(w[i])
						if math.IsInf(wv, -1) && math.IsInf(gv, -1) {
							continue
						}
						if math.IsNaN(gv) || math.Abs(gv-wv) > 1e-5*(1+math.Abs(wv))*math.Sqrt(float64(hd+kw)) {
							t.Fatalf("%s: %s[%d] = %v, want %v", name, what, i-band, gv, wv)
						}
					}
				}
			}
		}
	}
}

// TestAttnPanelGo checks the specification itself: attentionFused driving
// attnPanelGo (on the generic level's query packing) against attentionRef.
func TestAttnPanelGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	mk := &gemmGeneric
	fk := make([]func(*attnArgs), mk.mr)
	for h := range fk {
		fk[h] = func(a *attnArgs) { attnPanelGo(a, h+1, mk.mr) }
	}
	for _, c := range []struct{ nq, nk, hd int }{{1, 1, 1}, {13, 300, 64}, {7, 513, 80}, {70, 257, 32}, {5, 40, 96}} {
		for _, withBias := range []bool{false, true} {
			q := make([]float32, c.nq*c.hd)
			k := make([]float32, c.nk*c.hd)
			v := make([]float32, c.nk*c.hd)
			attnFill(rng, q, 2)
			attnFill(rng, k, 2)
			attnFill(rng, v, 1)
			var bias []float32
			if withBias {
				bias = make([]float32, c.nq*c.nk)
				attnFill(rng, bias, 1)
				for i := range bias {
					if i%7 == 0 || i/c.nk == 2 {
						bias[i] = negInf
					}
				}
			}
			var kv AttentionKV
			kv.nk, kv.hd = c.nk, c.hd
			kv.kp = make([]float32, packedBLen(c.hd, c.nk))
			kv.vp = make([]float32, packedBLen(c.nk, c.hd))
			packKeys(mk, kv.kp, k, c.hd, c.nk, c.hd)
			packBPanels(kv.vp, false, c.nk, c.hd, v, c.hd, 0, panelsOf(c.hd), 0, c.nk)
			got := make([]float32, c.nq*c.hd)
			want := make([]float32, c.nq*c.hd)
			attentionFused(mk, fk, got, c.hd, q, c.hd, c.nq, &kv, 0.125, bias, c.nk)
			attentionRef(want, c.hd, q, k, v, c.hd, c.hd, c.hd, c.nq, c.nk, c.hd, 0.125, bias, c.nk)
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*math.Sqrt(float64(c.nk))) {
					t.Fatalf("%+v bias %v: out[%d] = %v, attentionRef %v", c, withBias, i, got[i], want[i])
				}
			}
		}
	}
}
