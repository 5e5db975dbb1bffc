package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// ResampleCase is one position-table resampling benchmark: a From-grid
// table of Dim channels resized to To.
type ResampleCase struct {
	From, To posenc.Grid
	Dim      int
	Opt      posenc.ResampleOptions
}

// ResampleCases are the default cases: ViT-B's 14×14×768 table to 64×64
// (a 1024² image) and a 24×24×1024 table to 37×23, each bicubic with
// antialias (timm's default), bilinear, and Fourier.
func ResampleCases() []ResampleCase {
	var out []ResampleCase
	for _, shape := range []struct {
		from, to posenc.Grid
		dim      int
	}{{posenc.Grid{H: 14, W: 14}, posenc.Grid{H: 64, W: 64}, 768}, {posenc.Grid{H: 24, W: 24}, posenc.Grid{H: 37, W: 23}, 1024}} {
		for _, opt := range []posenc.ResampleOptions{posenc.DefaultResampleOptions(), {Method: posenc.Bilinear}, {Method: posenc.Fourier}} {
			out = append(out, ResampleCase{From: shape.from, To: shape.to, Dim: shape.dim, Opt: opt})
		}
	}
	return out
}

// ResampleBench measures one case at the active kernel level on threads
// goroutines (0: GOMAXPROCS). Fields: from, to, dim, method, antialias,
// level, threads; ms, the median time of the resampling kernel with its
// taps built (what every level accelerates); gflops (2 per multiply-add of
// that kernel); gbps (the table read and the new one written); api_ms, the
// median time of posenc.ResampleGrid, which also builds the taps and
// allocates the result, with GOMAXPROCS capped at threads (what a Learned
// pays once per new grid).
func ResampleBench(c ResampleCase, threads int, minTime time.Duration) (Result, error) {
	src := make([]float32, c.From.N()*c.Dim)
	rng := rand.New(rand.NewPCG(3, uint64(len(src))))
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 0.5)
	}
	if _, err := posenc.ResampleGrid(src, c.From, c.To, c.Dim, c.Opt); err != nil {
		return Result{}, err
	}
	th, tw, err := posenc.ResampleTaps(c.From, c.To, c.Opt)
	if err != nil {
		return Result{}, err
	}
	dst := make([]float32, c.To.N()*c.Dim)
	t := resampleMedian(func() { kernels.Resample(kernels.Threads(threads), dst, src, c.Dim, th, tw) }, minTime)
	if threads > 0 { // posenc uses every GOMAXPROCS thread: cap it to compare like with like
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	}
	api := resampleMedian(func() { _, _ = posenc.ResampleGrid(src, c.From, c.To, c.Dim, c.Opt) }, minTime)
	sec := t.Seconds()
	return Result{Kind: "resample", Fields: map[string]any{
		"from": c.From.String(), "to": c.To.String(), "dim": c.Dim,
		"method": c.Opt.Method.String(), "antialias": c.Opt.Antialias,
		"level": kernels.Active().String(), "threads": threads,
		"ms":     roundSig(sec*1e3, 4),
		"gflops": roundSig(kernels.ResampleFlops(th, tw, c.Dim)/sec/1e9, 4),
		"gbps":   roundSig(4*float64(len(src)+len(dst))/sec/1e9, 4),
		"api_ms": roundSig(api.Seconds()*1e3, 4),
	}}, nil
}

// PatchResizeBench measures posenc.ResizePatchEmbed (FlexiViT's
// pseudo-inverse resize) of an outCh×inCh kernel from old to new.
func PatchResizeBench(outCh, inCh int, old, new [2]int, minTime time.Duration) (Result, error) {
	k := make([]float32, outCh*inCh*old[0]*old[1])
	for i := range k {
		k[i] = float32(i%31) * 0.01
	}
	opt := posenc.DefaultResampleOptions()
	if _, err := posenc.ResizePatchEmbed(k, outCh, inCh, old, new, opt); err != nil {
		return Result{}, err
	}
	t := resampleMedian(func() { _, _ = posenc.ResizePatchEmbed(k, outCh, inCh, old, new, opt) }, minTime)
	return Result{Kind: "patch_resize", Fields: map[string]any{
		"out_ch": outCh, "in_ch": inCh, "from": fmt.Sprintf("%d×%d", old[0], old[1]), "to": fmt.Sprintf("%d×%d", new[0], new[1]),
		"method": opt.Method.String(), "antialias": opt.Antialias,
		"ms": roundSig(t.Seconds()*1e3, 4),
	}}, nil
}

// Resample runs every case at each level (nil: every level this process
// may select) on threads goroutines, then, with patch, the FlexiViT kernel
// resizes of a ViT-B patch embedding (768×3, 16×16 to 32², 48², 8²).
func Resample(p *Printer, levels []kernels.Level, threads int, minTime time.Duration, patch bool) error {
	if levels == nil {
		levels = kernels.Levels()
	}
	for _, l := range levels {
		restore, err := kernels.SetLevel(l)
		if err != nil {
			return err
		}
		for _, c := range ResampleCases() {
			r, err := ResampleBench(c, threads, minTime)
			if err != nil {
				restore()
				return err
			}
			if err := p.Print(r); err != nil {
				restore()
				return err
			}
		}
		restore()
	}
	if !patch {
		return nil
	}
	for _, s := range [][2][2]int{{{16, 16}, {32, 32}}, {{16, 16}, {48, 48}}, {{16, 16}, {8, 8}}} {
		r, err := PatchResizeBench(768, 3, s[0], s[1], minTime)
		if err != nil {
			return err
		}
		if err := p.Print(r); err != nil {
			return err
		}
	}
	return nil
}

// resampleMedian runs f once to warm up, then at least 5 times and for at
// least minTime, and returns the median duration.
func resampleMedian(f func(), minTime time.Duration) time.Duration {
	f()
	times, _ := callTimes(5, 0, minTime, noError(f))
	return times[len(times)/2]
}
