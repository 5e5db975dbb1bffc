package anyres_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorout"
)

// Outlier models: trained ViTs carry a few LayerNorm channels 10–100× the
// rest, which a per-row int8 activation scale cannot hold. outlierRewrite
// gives a model such channels without changing its float32 function:
// channels of each LayerNorm whose output feeds Linear layers get their
// gain and bias multiplied by factor, and the input columns of every layer
// reading that output are divided by it.

// normReaders maps each LayerNorm (timm name, without ".weight") of a
// state dict to the weights that read its output alone, with the axis of
// its channels in them (1: a Linear's input columns, [out, in]; a
// convolution [out, in, kh, kw] too). Post-norm blocks (Swin V2: the norm
// follows the layer) and norms whose output also flows on (the final
// norm) have none.
func normReaders(names map[string][]int) map[string][]string {
	has := func(n string) bool { _, ok := names[n]; return ok }
	out := map[string][]string{}
	add := func(norm string, readers ...string) {
		for _, r := range readers {
			if !has(r + ".weight") {
				return
			}
		}
		if has(norm+".weight") && len(readers) > 0 {
			out[norm] = readers
		}
	}
	postNorm := false
	for n := range names {
		postNorm = postNorm || strings.HasSuffix(n, ".cpb_mlp.0.weight")
	}
	for n := range names {
		p, ok := strings.CutSuffix(n, "norm1.weight")
		if ok && !postNorm {
			switch {
			case has(p+"attn.qkv.weight") && has(p+"proj.weight"): // Hiera's stage start: qkv and the expand projection
				add(p+"norm1", p+"attn.qkv", p+"proj")
			case has(p + "attn.qkv.weight"):
				add(p+"norm1", p+"attn.qkv")
			case has(p + "attn.q_proj.weight"):
				add(p+"norm1", p+"attn.q_proj", p+"attn.k_proj", p+"attn.v_proj")
			case has(p + "attn.sr.weight"): // Twins: q and the keys' reduction
				add(p+"norm1", p+"attn.q", p+"attn.sr")
			default:
				add(p+"norm1", p+"attn.q", p+"attn.kv")
			}
		}
		if p, ok := strings.CutSuffix(n, "norm2.weight"); ok && !postNorm {
			if has(p + "mlp.fc1_g.weight") {
				add(p+"norm2", p+"mlp.fc1_g", p+"mlp.fc1_x")
			} else {
				add(p+"norm2", p+"mlp.fc1")
			}
		}
		if p, ok := strings.CutSuffix(n, "mlp.norm.weight"); ok {
			add(p+"mlp.norm", p+"mlp.fc2")
		}
		if p, ok := strings.CutSuffix(n, "attn.norm.weight"); ok && has(p+"attn.sr.weight") {
			add(p+"attn.norm", p+"attn.kv")
		}
		if p, ok := strings.CutSuffix(n, "downsample.norm.weight"); ok && !postNorm {
			add(p+"downsample.norm", p+"downsample.reduction")
		}
	}
	add("attn_pool.norm", "attn_pool.mlp.fc1")
	return out
}

// outlierRewrite scales channels of every norm of normReaders (three
// spread over the width) by factor in tensors, in place, and returns how
// many norms it rewrote.
func outlierRewrite(t *testing.T, tensors map[string][]float32, shapes map[string][]int, factor float32) int {
	readers := normReaders(shapes)
	for norm, rs := range readers {
		d := len(tensors[norm+".weight"])
		chans := []int{1, d / 3, 2 * d / 3}
		for _, c := range chans {
			tensors[norm+".weight"][c] *= factor
			tensors[norm+".bias"][c] *= factor
		}
		for _, r := range rs {
			w, shape := tensors[r+".weight"], shapes[r+".weight"]
			if len(shape) < 2 || shape[1] != d {
				t.Fatalf("%s reads %s (width %d) but has shape %v", r, norm, d, shape)
			}
			inner := 1 // a convolution's kernel positions
			for _, k := range shape[2:] {
				inner *= k
			}
			for o := 0; o < shape[0]; o++ {
				for _, c := range chans {
					for k := 0; k < inner; k++ {
						w[(o*d+c)*inner+k] /= factor
					}
				}
			}
		}
	}
	return len(readers)
}

// writeOutlierModel writes the golden model rewritten with factor where
// loadGolden's path expects it, and returns that path and the options.
func writeOutlierModel(t *testing.T, f *golden.File, factor float32) (string, anyres.Options, int) {
	tensors, shapes := map[string][]float32{}, map[string][]int{}
	for _, n := range f.Names() {
		if golden.NotWeight(n) {
			continue
		}
		v, shape := f.F32(t, n)
		tensors[n], shapes[n] = append([]float32(nil), v...), shape
	}
	rewritten := outlierRewrite(t, tensors, shapes, factor)
	out := map[string]tensorout.Tensor{}
	for n, v := range tensors {
		out[n] = tensorout.F32(shapes[n], v)
	}
	dir := t.TempDir()
	if f.HasHub() {
		golden.WriteHubFolder(t, f, dir)
		if err := tensorout.WriteSafetensorsFile(filepath.Join(dir, "model.safetensors"), out, nil); err != nil {
			t.Fatal(err)
		}
		return dir, anyres.Options{}, rewritten
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := tensorout.WriteSafetensorsFile(path, out, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	return path, anyres.Options{}, rewritten
}

// checkTop1 fails where q's arg-max class (or pooled arg-max) differs
// from ref's on an input whose top two float32 values are further apart
// than twice q's largest error on them: a random head's near-tie may
// flip, a clear decision may not.
func checkTop1(t *testing.T, ref, q anyres.Model, imgs []anyres.Image, what string) {
	t.Helper()
	for i, img := range imgs {
		var a, b anyres.Output
		if err := ref.Forward(img, &a); err != nil {
			t.Fatal(err)
		}
		if err := q.Forward(img, &b); err != nil {
			t.Fatal(err)
		}
		la, lb := a.Logits, b.Logits
		if len(la) == 0 {
			la, lb = a.Pooled, b.Pooled
		}
		top := argmax(la)
		second := math.Inf(-1)
		for j, v := range la {
			if j != top {
				second = max(second, float64(v))
			}
		}
		margin, err := float64(la[top])-second, maxAbsErr(la, lb)
		if argmax(lb) != top && margin > 2*err {
			t.Errorf("%s: golden input %d: arg-max %d, float32 %d (margin %.3g, largest error %.3g)", what, i, argmax(lb), top, margin, err)
		}
	}
}

// outlierGoal is issue 22's: int8 features within cosine 0.999 of float32
// on models with 100× post-LayerNorm channels, as on ordinary ones.
const outlierGoal = 0.999

// TestInt8Outliers: on every golden model rewritten to carry 30× and 100×
// post-LayerNorm channels (float32 function unchanged, which the test
// checks first), int8 keeps features cosine ≥ outlierGoal to the
// original float32 model over the golden inputs and 4 noise images (with
// -short: 100× only, golden inputs only), and the arg-max class (or
// pooled arg-max) of every golden input (checkTop1).
func TestInt8Outliers(t *testing.T) {
	for _, name := range golden.Models(t) {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			ref, _, _ := loadGolden(t, f, name, anyres.Options{})
			defer ref.Close()
			imgs, sizes := goldenImages(t, f)
			if len(imgs) == 0 {
				t.Fatal("no single-image case")
			}
			nGolden := len(imgs)
			factors := []float32{30, 100}
			if testing.Short() { // race detector, emulators: the harder case, golden inputs
				factors = factors[1:]
			} else {
				imgs = append(imgs, noiseImages(4, ref.Info().Channels, sizes, 5)...)
			}
			for _, factor := range factors {
				path, opts, norms := writeOutlierModel(t, f, factor)
				if norms == 0 {
					// Post-norm (Swin V2): no exact rewrite gives it outlier channels, so
					// this would only repeat TestInt8Accuracy on the ordinary model, against a goal
					// meant for the rewrite (a 1-block-per-stage V2 sits at 0.9989 by 7-bit
					// noise alone).
					t.Skipf("%s: no LayerNorm feeds a Linear (post-norm): no outlier model to test; TestInt8Accuracy covers int8 on it", name)
				}
				opts.Ignore = golden.NotWeight
				rf, err := anyres.Load(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				if s := compareModels(t, ref, rf, imgs); s.featCos < 0.999999 {
					t.Fatalf("the %g× rewrite changed the float32 model: %v", factor, s)
				}
				rf.Close()
				opts.DType = "int8"
				q, err := anyres.Load(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				s := compareModels(t, ref, q, imgs)
				checkTop1(t, ref, q, imgs[:nGolden], fmt.Sprintf("int8 with %g× channels", factor))
				q.Close()
				t.Logf("int8, %d norms with %g× channels: %v", norms, factor, s)
				if s.featCos < outlierGoal {
					t.Errorf("int8 with %g× channels: features cosine %.5f < %v", factor, s.featCos, outlierGoal)
				}
			}
		})
	}
}
