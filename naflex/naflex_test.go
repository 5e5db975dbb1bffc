package naflex

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/allocs"
	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

const goldenFile = "naflex_siglip.safetensors"

func loadGolden(t testing.TB, opts options) (*golden.File, *Model) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	opts.Ignore = golden.NotWeight
	m, err := newModel(cfg, f.File, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

type goldenCase struct {
	name   string
	img    nn.Image
	feats  []float32
	logits []float32
}

// singleCases are the file's one-image cases.
func singleCases(t testing.TB, f *golden.File) []goldenCase {
	var cs []goldenCase
	for _, c := range f.Cases {
		var p struct{ Height, Width int }
		c.Decode(t, &p)
		if p.Height == 0 {
			continue
		}
		pix, shape := f.F32(t, c.Inputs[0])
		feats, _ := f.F32(t, c.Outputs[0])
		logits, _ := f.F32(t, c.Outputs[1])
		cs = append(cs, goldenCase{c.Name, nn.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}, feats, logits})
	}
	if len(cs) == 0 {
		t.Fatal("no single-image case")
	}
	return cs
}

// goldenBatch is the file's padded NaFlex batch and timm's outputs.
func goldenBatch(t testing.TB, f *golden.File) (Patches, []float32, []float32) {
	data, shape := f.F32(t, "naflex_patches")
	coord, _ := f.I64(t, "naflex_coord")
	valid, _ := golden.Bool(t, goldenFile, "naflex_valid")
	feats, _ := f.F32(t, "naflex_features")
	logits, _ := f.F32(t, "naflex_logits")
	return Patches{Batch: shape[0], Rows: shape[1], Data: data, Coord: coord, Valid: valid}, feats, logits
}

// validRows counts image b's valid rows.
func validRows(p Patches, b int) int {
	n := 0
	for _, v := range p.Valid[b*p.Rows : (b+1)*p.Rows] {
		if v {
			n++
		}
	}
	return n
}

// TestGolden runs timm's single images and its padded NaFlex batch at
// every kernel level: features and logits within 1e-4 of timm's, and the
// packed batch's rows equal to the single runs of the same images.
func TestGolden(t *testing.T) {
	f, m := loadGolden(t, options{})
	cases := singleCases(t, f)
	p, feats, logits := goldenBatch(t, f)
	d, nc := m.Encoder().Dim, m.Encoder().Head.NumClasses()
	familytest.PerLevel(t, func(t *testing.T) {
		single := make([]nn.Output, len(cases))
		for i, c := range cases {
			if err := m.Forward(c.img, &single[i]); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			golden.Close(t, c.name+" features", single[i].Tokens, c.feats, 1e-4, 0)
			golden.Close(t, c.name+" logits", single[i].Logits, c.logits, 1e-4, 0)
		}
		outs := make([]nn.Output, p.Batch)
		if err := m.ForwardPatches(p, outs); err != nil {
			t.Fatal(err)
		}
		for b := range outs {
			n := validRows(p, b)
			want := feats[b*p.Rows*d : (b*p.Rows+n)*d]
			golden.Close(t, "batch image "+string(rune('0'+b))+" features", outs[b].Tokens, want, 1e-4, 0)
			golden.Close(t, "batch image "+string(rune('0'+b))+" logits", outs[b].Logits, logits[b*nc:(b+1)*nc], 1e-4, 0)
			// The golden batch holds the single cases' images, in order.
			if b < len(single) {
				if outs[b].Grid != single[b].Grid || familytest.MaxDiff(outs[b].Tokens, single[b].Tokens) != 0 || familytest.MaxDiff(outs[b].Logits, single[b].Logits) != 0 {
					t.Errorf("batch image %d: grid %v, differs from its single run (grid %v) by %g", b, outs[b].Grid, single[b].Grid,
						familytest.MaxDiff(outs[b].Tokens, single[b].Tokens))
				}
			}
		}
	})
}

// TestThreads: results are bit-identical for any number of workers.
func TestThreads(t *testing.T) {
	f, m := loadGolden(t, options{})
	p, _, _ := goldenBatch(t, f)
	familytest.PerLevel(t, func(t *testing.T) {
		var want []nn.Output
		for _, threads := range []int{1, 3} {
			outs := make([]nn.Output, p.Batch)
			if err := m.withThreads(threads).ForwardPatches(p, outs); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = outs
				continue
			}
			for b := range outs {
				if d := familytest.MaxDiff(outs[b].Tokens, want[b].Tokens) + familytest.MaxDiff(outs[b].Logits, want[b].Logits); d != 0 {
					t.Errorf("%d threads: image %d differs from 1 thread by %g", threads, b, d)
				}
			}
		}
	})
}

// TestNoAllocs: once warm, Forward and ForwardPatches allocate nothing,
// also after a garbage collection.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are slow under the race detector")
	}
	f, m := loadGolden(t, options{RunOptions: nn.RunOptions{Threads: 2}})
	cases := singleCases(t, f)
	img := cases[len(cases)-1].img
	p, _, _ := goldenBatch(t, f)
	var out nn.Output
	outs := make([]nn.Output, p.Batch)
	if err := m.Forward(img, &out); err != nil {
		t.Fatal(err)
	}
	if err := m.ForwardPatches(p, outs); err != nil {
		t.Fatal(err)
	}
	if n := allocs.PerRun(5, func() { m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm Forward", n)
	}
	if n := allocs.PerRun(5, func() { m.ForwardPatches(p, outs) }); n != 0 {
		t.Errorf("%v allocations per warm ForwardPatches", n)
	}
	if n := allocs.PerRun(5, func() { runtime.GC(); m.ForwardPatches(p, outs) }); n != 0 {
		t.Errorf("%v allocations per warm ForwardPatches after a garbage collection", n)
	}
}

// goldenSource copies the file's weights into a MapSource to edit.
func goldenSource(t testing.TB, f *golden.File) nn.MapSource {
	src := nn.MapSource{}
	for _, n := range f.Names() {
		if golden.NotWeight(n) {
			continue
		}
		v, shape := f.F32(t, n)
		src[n] = nn.Tensor{Data: v, Shape: shape}
	}
	return src
}

// TestWeightErrors: a missing tensor is named with its shape, an unknown
// one by name, a mis-shaped one with both shapes.
func TestWeightErrors(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.EmbedDim
	fc2 := fmt.Sprintf("blocks.%d.mlp.fc2.bias", f.Blocks("blocks.")-1) // the last block's
	for _, tc := range []struct {
		name string
		edit func(nn.MapSource)
		want string
	}{
		{"missing", func(s nn.MapSource) { delete(s, fc2) }, fmt.Sprintf("%q (shape [%d]) is missing", fc2, d)},
		{"unknown", func(s nn.MapSource) {
			s["blocks.0.attn.q_norm.weight"] = nn.Tensor{Data: make([]float32, 16), Shape: []int{16}}
		}, `"blocks.0.attn.q_norm.weight"`},
		{"shape", func(s nn.MapSource) {
			s["embeds.pos_embed"] = nn.Tensor{Data: make([]float32, 8*8*d), Shape: []int{1, 8, 8, d}}
		}, `"embeds.pos_embed" has shape [1 8 8`},
		{"nan", func(s nn.MapSource) {
			v := append([]float32(nil), s["head.weight"].Data...)
			v[3] = float32(math.NaN())
			s["head.weight"] = nn.Tensor{Data: v, Shape: s["head.weight"].Shape}
		}, `"head.weight" holds a non-finite value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := goldenSource(t, f)
			tc.edit(src)
			_, err := newModel(cfg, src, options{})
			if !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrWeight saying %s", err, tc.want)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// lastCorner returns the row of the last patch of the first image whose
// grid has two rows and two columns or more: marked as padding, the
// coordinates of the others still span the grid, which they do not fill.
func lastCorner(t *testing.T, p Patches) int {
	for b := 0; b < p.Batch; b++ {
		n := 0
		for n < p.Rows && p.Valid[b*p.Rows+n] {
			n++
		}
		if last := b*p.Rows + n - 1; n > 0 && p.Coord[2*last] > 0 && p.Coord[2*last+1] > 0 {
			return last
		}
	}
	t.Fatal("no image of two rows and two columns in the golden batch")
	return 0
}

// TestPatchErrors: malformed batches are errors that say what is wrong.
func TestPatchErrors(t *testing.T) {
	f, m := loadGolden(t, options{})
	good, _, _ := goldenBatch(t, f)
	corner := lastCorner(t, good)
	clone := func() Patches {
		p := good
		p.Coord = append([]int64(nil), good.Coord...)
		p.Valid = append([]bool(nil), good.Valid...)
		return p
	}
	for _, tc := range []struct {
		name string
		edit func(*Patches)
		want string
	}{
		{"empty", func(p *Patches) { p.Batch = 0 }, "batch of 0"},
		{"short data", func(p *Patches) { p.Data = p.Data[:len(p.Data)-1] }, "patch values"},
		{"valid after padding", func(p *Patches) { p.Valid[p.Rows-1] = true }, "after padding row"},
		{"no patch", func(p *Patches) { clear(p.Valid[:p.Rows]) }, "no valid patch"},
		{"negative coordinate", func(p *Patches) { p.Coord[2] = -1 }, "outside a grid"},
		{"not row-major", func(p *Patches) { p.Coord[2], p.Coord[3] = 1, 0 }, "row-major"},
		{"grid not filled", func(p *Patches) { p.Valid[corner] = false }, "do not fill"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := clone()
			tc.edit(&p)
			err := m.ForwardPatches(p, make([]nn.Output, good.Batch))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
