// Package familytest holds the checks every model family's own tests run
// on its golden references through nn.Net: every case against timm, packed
// batches against single runs, thread-count independence, and zero
// allocations per warm forward pass.
package familytest

import (
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/anyres/anyres/internal/allocs"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
	"github.com/anyres/anyres/nn"
)

// Open reads a model-family golden file and returns it with timm's hub
// config.json for it (hub_config with timm_kwargs as model_args, as
// golden.WriteHubFolder writes it). The file is an nn.Checkpoint; load it
// with Options().
func Open(tb testing.TB, name string) (*golden.File, *nn.HubConfig) {
	tb.Helper()
	f := golden.Open(tb, name)
	var hub map[string]any
	f.MetaJSON(tb, "hub_config", &hub)
	if _, ok := f.Metadata()["timm_kwargs"]; ok {
		var kwargs map[string]any
		f.MetaJSON(tb, "timm_kwargs", &kwargs)
		hub["model_args"] = kwargs
	}
	raw, err := json.Marshal(hub)
	if err != nil {
		tb.Fatal(err)
	}
	h, ok := nn.ParseHub(raw)
	if !ok {
		tb.Fatalf("%s: hub_config names no architecture", name)
	}
	return f, h
}

// Options are load options for a golden file: its inputs and outputs are
// not weights.
func Options(threads int) nn.LoadOptions {
	return nn.LoadOptions{RunOptions: nn.RunOptions{Threads: threads}, Ignore: golden.NotWeight}
}

// PerLevel runs body at every kernel level, or under -short at the best
// level only.
func PerLevel(t *testing.T, body func(t *testing.T)) {
	if testing.Short() {
		body(t)
		return
	}
	kerneltest.Run(t, body)
}

// Case is one single-image golden case.
type Case struct {
	Name             string
	Image            nn.Image
	Features, Logits []float32
}

// Cases lists the single-image cases of f.
func Cases(tb testing.TB, f *golden.File) []Case {
	var out []Case
	for _, c := range f.Cases {
		if len(c.Inputs) != 1 || len(c.Outputs) != 2 {
			continue
		}
		pix, shape := f.F32(tb, c.Inputs[0])
		feats, _ := f.F32(tb, c.Outputs[0])
		logits, _ := f.F32(tb, c.Outputs[1])
		out = append(out, Case{Name: c.Name, Image: nn.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}, Features: feats, Logits: logits})
	}
	if len(out) == 0 {
		tb.Fatal("no single-image case in the file")
	}
	return out
}

// Golden runs every case through m: features and logits within 1e-4 of
// timm's.
func Golden(t *testing.T, cases []Case, m nn.Net) {
	for _, c := range cases {
		var out nn.Output
		if err := m.Forward(c.Image, &out); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		golden.Close(t, c.Name+" features", out.Tokens, c.Features, 1e-4, 0)
		got := out.Logits
		if m.Info().NumClasses == 0 {
			got = out.Pooled
		}
		golden.Close(t, c.Name+" logits", got, c.Logits, 1e-4, 0)
	}
}

// MaxDiff is the largest absolute difference (+Inf for different lengths).
func MaxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// Packing runs every image alone, then all of them (and the first once
// more) packed into one sequence in two orders: each image's outputs must
// be those of its single run.
func Packing(t *testing.T, m nn.Net, imgs []nn.Image) {
	imgs = append(append([]nn.Image(nil), imgs...), imgs[0])
	alone := make([]nn.Output, len(imgs))
	for i, img := range imgs {
		if err := m.Forward(img, &alone[i]); err != nil {
			t.Fatal(err)
		}
	}
	rev := make([]nn.Image, len(imgs))
	for i := range imgs {
		rev[i] = imgs[len(imgs)-1-i]
	}
	packed, revOut := make([]nn.Output, len(imgs)), make([]nn.Output, len(imgs))
	if err := m.ForwardBatch(imgs, packed); err != nil {
		t.Fatal(err)
	}
	if err := m.ForwardBatch(rev, revOut); err != nil {
		t.Fatal(err)
	}
	for i := range imgs {
		for _, o := range []nn.Output{packed[i], revOut[len(imgs)-1-i]} {
			if o.Grid != alone[i].Grid {
				t.Fatalf("image %d: grid %s packed, %s alone", i, o.Grid, alone[i].Grid)
			}
			// Row tiles fall differently when packed; the kernels'
			// results per row do not depend on that.
			if d := MaxDiff(o.Tokens, alone[i].Tokens); d > 1e-6 {
				t.Errorf("image %d (%dx%d): tokens differ by %g packed", i, imgs[i].H, imgs[i].W, d)
			}
			if d := MaxDiff(o.Logits, alone[i].Logits); d > 1e-6 {
				t.Errorf("image %d: logits differ by %g packed", i, d)
			}
		}
	}
	HeadOnly(t, m, imgs, alone)
}

// HeadOnly checks Output.HeadOnly against full runs (full[i] is imgs[i]'s
// output alone): each image alone asking for the head gets the same pooled
// feature and logits bit for bit and no tokens; packed together with every
// other image asking for its tokens too, each gets what it asked for. A
// model without a head must refuse it.
func HeadOnly(t *testing.T, m nn.Net, imgs []nn.Image, full []nn.Output) {
	t.Helper()
	if len(full[0].Pooled) == 0 && len(full[0].Logits) == 0 {
		out := nn.Output{HeadOnly: true}
		if err := m.Forward(imgs[0], &out); !errors.Is(err, nn.ErrNoHead) {
			t.Errorf("HeadOnly on a model without a head: %v, want ErrNoHead", err)
		}
		return
	}
	for i, img := range imgs {
		out := nn.Output{HeadOnly: true}
		if err := m.Forward(img, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Tokens) != 0 || out.Grid != full[i].Grid || out.Prefix != full[i].Prefix {
			t.Errorf("image %d head only: %d token values, grid %s prefix %d (want none, %s, %d)", i, len(out.Tokens), out.Grid, out.Prefix, full[i].Grid, full[i].Prefix)
		}
		if d := MaxDiff(out.Pooled, full[i].Pooled) + MaxDiff(out.Logits, full[i].Logits); d != 0 {
			t.Errorf("image %d (%dx%d): head only differs from the full run by %g", i, img.H, img.W, d)
		}
	}
	outs := make([]nn.Output, len(imgs))
	for i := range outs {
		outs[i].HeadOnly = i%2 == 0
	}
	if err := m.ForwardBatch(imgs, outs); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		tokens := MaxDiff(o.Tokens, full[i].Tokens)
		if o.HeadOnly {
			tokens = float64(len(o.Tokens))
		}
		if d := MaxDiff(o.Pooled, full[i].Pooled) + MaxDiff(o.Logits, full[i].Logits); d > 1e-6 || tokens > 1e-6 {
			t.Errorf("image %d packed, head only %v: head differs by %g, tokens by %g", i, o.HeadOnly, d, tokens)
		}
	}
}

// Threads: the outputs of models loaded with 1 and 3 workers (and 2 and 5
// unless -short) are bit-identical.
func Threads(t *testing.T, load func(threads int) nn.Net, img nn.Image) {
	counts := []int{1, 2, 3, 5}
	if testing.Short() {
		counts = []int{1, 3}
	}
	var want nn.Output
	for _, n := range counts {
		m := load(n)
		var out nn.Output
		if err := m.Forward(img, &out); err != nil {
			t.Fatal(err)
		}
		m.Close()
		if n == 1 {
			want = out
			continue
		}
		if d := MaxDiff(out.Tokens, want.Tokens); d != 0 {
			t.Errorf("%d threads: tokens differ from 1 thread by %g", n, d)
		}
		if d := MaxDiff(out.Logits, want.Logits); d != 0 {
			t.Errorf("%d threads: logits differ from 1 thread by %g", n, d)
		}
	}
}

// NoAllocs: once warm for a size, a forward pass allocates nothing, also
// after a garbage collection (ModelAllocs: the runtime's own allocations
// do not count).
func NoAllocs(t *testing.T, m nn.Net, img nn.Image) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector and emulators")
	}
	var out nn.Output
	if err := m.Forward(img, &out); err != nil {
		t.Fatal(err)
	}
	if n := allocs.PerRun(5, func() { m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm forward", n)
	}
	if n := allocs.PerRun(5, func() { runtime.GC(); m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm forward after a garbage collection", n)
	}
}

// Largest is the case with the most pixels: the one that makes the most
// work items, so the one thread and allocation tests run.
func Largest(cs []Case) Case {
	best := cs[0]
	for _, c := range cs[1:] {
		if c.Image.H*c.Image.W > best.Image.H*best.Image.W {
			best = c
		}
	}
	return best
}
