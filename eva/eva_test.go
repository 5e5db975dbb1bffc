package eva

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

var goldenFiles = []string{"eva02_rope_swiglu.safetensors", "vit_rope_mixed.safetensors", "dinov3_rope.safetensors",
	"eva02_clip.safetensors", "pe_core.safetensors", "vit_rope_ape.safetensors"}

func load(t testing.TB, ck nn.Checkpoint, hub *nn.HubConfig, threads int) *Model {
	t.Helper()
	m, err := loadFamily(ck, hub, familytest.Options(threads))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.(*Model)
}

// TestGolden: every case of both references, at every kernel level.
func TestGolden(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			f, hub := familytest.Open(t, name)
			m := load(t, f, hub, 0)
			cases := familytest.Cases(t, f)
			familytest.PerLevel(t, func(t *testing.T) { familytest.Golden(t, cases, m) })
		})
	}
}

func images(cases []familytest.Case) []nn.Image {
	var imgs []nn.Image
	for _, c := range cases {
		imgs = append(imgs, c.Image)
	}
	return imgs
}

// TestPacking: the golden images packed together (each on its own grid,
// with its own rotary tables) give what they give alone.
func TestPacking(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			f, hub := familytest.Open(t, name)
			m := load(t, f, hub, 2)
			imgs := images(familytest.Cases(t, f))
			familytest.PerLevel(t, func(t *testing.T) { familytest.Packing(t, m, imgs) })
		})
	}
}

// TestThreads: bit-identical results for any worker count.
func TestThreads(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			f, hub := familytest.Open(t, name)
			img := familytest.Cases(t, f)[0].Image
			familytest.PerLevel(t, func(t *testing.T) {
				familytest.Threads(t, func(n int) nn.Net { return load(t, f, hub, n) }, img)
			})
		})
	}
}

// TestNoAllocs: a warm forward pass allocates nothing (rotary tables are
// cached per grid).
func TestNoAllocs(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			f, hub := familytest.Open(t, name)
			m := load(t, f, hub, 2)
			cases := familytest.Cases(t, f)
			familytest.NoAllocs(t, m, cases[len(cases)-1].Image)
		})
	}
}

// memCheckpoint is a checkpoint built in memory from a golden file's
// weights, to rewrite them into other layouts.
type memCheckpoint struct{ nn.MapSource }

func (c memCheckpoint) Shape(name string) ([]int, error) {
	_, s, err := c.Float32(name)
	return s, err
}
func (memCheckpoint) Metadata() map[string]string { return nil }

func weightsOf(t *testing.T, f *golden.File) memCheckpoint {
	src := nn.MapSource{}
	for _, n := range f.Names() {
		if !golden.NotWeight(n) {
			v, s := f.F32(t, n)
			src[n] = nn.Tensor{Data: slices.Clone(v), Shape: s}
		}
	}
	return memCheckpoint{src}
}

// rows returns rows [lo, hi) of a row-major matrix of width w.
func rows(m []float32, w, lo, hi int) []float32 { return slices.Clone(m[lo*w : hi*w]) }

// TestLayouts rewrites the EVA-02 reference into the other layouts timm
// uses for the same model — separate q/k/v projections (qkv_fused=False,
// k_proj without bias) and SwiGLU with fc1_g and fc1_x — and checks that
// each runs every case as timm does.
func TestLayouts(t *testing.T) {
	f, hub := familytest.Open(t, "eva02_rope_swiglu.safetensors")
	cases := familytest.Cases(t, f)
	base := weightsOf(t, f)
	cfg, err := InferConfig(base, hub)
	if err != nil {
		t.Fatal(err)
	}
	d, h := cfg.EmbedDim, cfg.MLPHidden
	split := memCheckpoint{nn.MapSource{}}
	for n, v := range base.MapSource {
		split.MapSource[n] = v
	}
	for b := 0; b < cfg.Depth; b++ {
		p := "blocks." + strconv.Itoa(b) + "."
		w := split.MapSource
		qkv := w[p+"attn.qkv.weight"].Data
		w[p+"attn.q_proj.weight"] = nn.Tensor{Data: rows(qkv, d, 0, d), Shape: []int{d, d}}
		w[p+"attn.k_proj.weight"] = nn.Tensor{Data: rows(qkv, d, d, 2*d), Shape: []int{d, d}}
		w[p+"attn.v_proj.weight"] = nn.Tensor{Data: rows(qkv, d, 2*d, 3*d), Shape: []int{d, d}}
		w[p+"attn.q_proj.bias"] = w[p+"attn.q_bias"]
		w[p+"attn.v_proj.bias"] = w[p+"attn.v_bias"]
		delete(w, p+"attn.qkv.weight")
		delete(w, p+"attn.q_bias")
		delete(w, p+"attn.v_bias")
		// GluMlp(gate_last=False) gates the first half: that is fc1_g.
		fc1, fc1b := w[p+"mlp.fc1.weight"].Data, w[p+"mlp.fc1.bias"].Data
		w[p+"mlp.fc1_g.weight"] = nn.Tensor{Data: rows(fc1, d, 0, h), Shape: []int{h, d}}
		w[p+"mlp.fc1_x.weight"] = nn.Tensor{Data: rows(fc1, d, h, 2*h), Shape: []int{h, d}}
		w[p+"mlp.fc1_g.bias"] = nn.Tensor{Data: slices.Clone(fc1b[:h]), Shape: []int{h}}
		w[p+"mlp.fc1_x.bias"] = nn.Tensor{Data: slices.Clone(fc1b[h:]), Shape: []int{h}}
		delete(w, p+"mlp.fc1.weight")
		delete(w, p+"mlp.fc1.bias")
	}
	c2, err := InferConfig(split, hub)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.QKVSplit || c2.MLP != "swiglu" || c2.MLPHidden != h {
		t.Fatalf("rewritten checkpoint read as %+v", c2)
	}
	m, err := loadFamily(split, hub, nn.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	familytest.Golden(t, cases, m)
}

// TestWeightErrors: a missing, mis-shaped or unknown tensor is an error
// that names it; settings anyres does not run are refused by name.
func TestWeightErrors(t *testing.T) {
	f, hub := familytest.Open(t, "eva02_rope_swiglu.safetensors")
	edit := func(change func(w nn.MapSource)) error {
		ck := weightsOf(t, f)
		change(ck.MapSource)
		_, err := loadFamily(ck, hub, nn.LoadOptions{})
		return err
	}
	// Widths and rows as the file has them.
	ds, err := f.Shape("fc_norm.weight")
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	ps, err := f.Shape("pos_embed")
	if err != nil {
		t.Fatal(err)
	}
	norm2 := fmt.Sprintf("blocks.%d.norm2.bias", f.Blocks("blocks.")-1) // the last block's
	rows := ps[1] + 3                                                   // a class row plus n²+3 rows: no square grid for n > 1
	for _, c := range []struct {
		what   string
		change func(w nn.MapSource)
		want   string
	}{
		{"missing", func(w nn.MapSource) { delete(w, norm2) }, f.Missing(t, norm2) + " is missing"},
		{"missing v bias", func(w nn.MapSource) { delete(w, "blocks.0.attn.v_bias") }, `"blocks.0.attn.v_bias"`},
		{"shape", func(w nn.MapSource) { w["fc_norm.weight"] = nn.Tensor{Data: make([]float32, d-1), Shape: []int{d - 1}} },
			fmt.Sprintf(`"fc_norm.weight" has shape [%d], want [%d]`, d-1, d)},
		{"unknown", func(w nn.MapSource) {
			w["blocks.0.attn.q_norm.weight"] = nn.Tensor{Data: make([]float32, 16), Shape: []int{16}}
		}, `"blocks.0.attn.q_norm.weight"`},
		{"table", func(w nn.MapSource) {
			w["pos_embed"] = nn.Tensor{Data: make([]float32, rows*d), Shape: []int{1, rows, d}}
		}, fmt.Sprintf("pos_embed has %d rows", rows)},
	} {
		err := edit(c.change)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %s", c.what, err, c.want)
		}
		if c.what != "table" && !errors.Is(err, nn.ErrWeight) {
			t.Errorf("%s: %v is not ErrWeight", c.what, err)
		}
	}
	// Stored RoPE buffers are dropped, as timm's checkpoint filter does.
	ck := weightsOf(t, f)
	ck.MapSource["rope.pos_embed"] = nn.Tensor{Data: make([]float32, 16*32), Shape: []int{16, 32}}
	if _, err := loadFamily(ck, hub, nn.LoadOptions{}); err != nil {
		t.Errorf("with a stored RoPE buffer: %v", err)
	}
	// A setting that contradicts the file is refused, naming it or the
	// tensors it needs.
	for key, want := range map[string]string{"use_post_norm": "use_post_norm", "qk_norm": "qk_norm",
		"rope_rotate_half": "rope_rotate_half", "scale_attn_inner": `"blocks.0.attn.norm.weight"`} {
		h := *hub
		h.ModelArgs = map[string]any{key: true}
		for k, v := range hub.ModelArgs {
			h.ModelArgs[k] = v
		}
		_, err := loadFamily(weightsOf(t, f), &h, nn.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("model_args.%s: got %v, want an error naming %s", key, err, want)
		}
	}
	h := *hub
	h.ModelArgs = map[string]any{"num_heads": float64(d + 1)} // never divides the width
	if _, err := loadFamily(weightsOf(t, f), &h, nn.LoadOptions{}); !errors.Is(err, nn.ErrConfig) {
		t.Errorf("%d wide with %d heads: got %v", d, d+1, err)
	}
}

// TestClaims: the family takes timm's Eva names and the RoPE ViTs, not
// the plain ViTs (which package vit runs).
func TestClaims(t *testing.T) {
	f, _ := familytest.Open(t, "vit_rope_mixed.safetensors")
	for arch, want := range map[string]bool{
		"eva02_tiny_patch14_224":               true,
		"eva02_large_patch14_clip_336":         true,
		"vit_base_patch16_rope_mixed_224":      true,
		"vit_medium_patch16_rope_reg1_gap_256": true,
		"vit_base_patch16_224":                 false,
		"beit_base_patch16_224":                false,
	} {
		if got := claims(arch, f) > 0; got != want {
			t.Errorf("claims(%q) = %v, want %v", arch, got, want)
		}
	}
	if claims("", f) == 0 {
		t.Error("a checkpoint with rope.freqs and no name is not claimed")
	}
}

// TestAxialXY checks the naver axial RoPE ViTs' grid indexing ('xy',
// temperature 100, no table; vit_small_patch16_rope_224) by symmetry: with
// a patch kernel symmetric under transposition, the 'xy' model on an
// image gives the features the 'ij' model gives on the transposed image,
// in transposed token order.
func TestAxialXY(t *testing.T) {
	shapes := ropeViT(64, 256, 2, 4, false) // 2 blocks of 4 heads of 16
	ck := familytest.Random(shapes, 3)
	for n, w := range ck.MapSource { // attention sharp enough for position to matter
		if strings.Contains(n, "norm") && strings.HasSuffix(n, ".weight") {
			for i := range w.Data {
				w.Data[i] += 1
			}
		}
		if strings.HasSuffix(n, "attn.qkv.weight") {
			for i := range w.Data {
				w.Data[i] *= 25
			}
		}
	}
	k := ck.MapSource["patch_embed.proj.weight"]
	const p = 16
	for o := 0; o < 64*3; o++ { // symmetrise each kernel
		w := k.Data[o*p*p : (o+1)*p*p]
		for y := 0; y < p; y++ {
			for x := 0; x < y; x++ {
				w[x*p+y] = w[y*p+x]
			}
		}
	}
	load := func(indexing string) nn.Net {
		hub := &nn.HubConfig{Architecture: "vit_small_patch16_rope_224", ModelArgs: map[string]any{"num_heads": 4.0, "rope_grid_indexing": indexing}}
		m, err := loadFamily(ck, hub, nn.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	xy, ij := load("xy"), load("ij")
	if c := xy.(*Model).Config(); c.Rope != "cat" || !c.RopeXY || c.RopeTemperature != 100 || c.AbsPosEmbed {
		t.Fatalf("read as %+v", c)
	}
	img := familytest.BenchImage(3*p, 5*p)
	tr := nn.Image{C: 3, H: img.W, W: img.H, Pix: make([]float32, len(img.Pix))}
	for c := 0; c < 3; c++ {
		for y := 0; y < img.H; y++ {
			for x := 0; x < img.W; x++ {
				tr.Pix[c*img.H*img.W+x*img.H+y] = img.Pix[c*img.H*img.W+y*img.W+x]
			}
		}
	}
	var a, b nn.Output
	if err := xy.Forward(img, &a); err != nil {
		t.Fatal(err)
	}
	if err := ij.Forward(tr, &b); err != nil {
		t.Fatal(err)
	}
	const d = 64
	maxd := 0.0
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			ra, rb := a.Tokens[(1+y*5+x)*d:(2+y*5+x)*d], b.Tokens[(1+x*3+y)*d:(2+x*3+y)*d]
			maxd = max(maxd, familytest.MaxDiff(ra, rb))
		}
	}
	maxd = max(maxd, familytest.MaxDiff(a.Logits, b.Logits))
	if maxd > 1e-5 {
		t.Errorf("'xy' on the image and 'ij' on its transpose differ by %g", maxd)
	}
	var c nn.Output // and 'ij' on the image itself is another thing
	if err := ij.Forward(img, &c); err != nil {
		t.Fatal(err)
	}
	if d := familytest.MaxDiff(a.Tokens, c.Tokens); d < 1e-3 {
		t.Errorf("'xy' and 'ij' on one image differ by only %g: the indexing is not applied", d)
	}
}
