package anyres_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// quantStats compares a reduced-precision model with its float32 twin over
// a set of inputs.
type quantStats struct {
	images          int
	featCos, logCos float64 // the worst (lowest) cosine similarity over the inputs
	featErr, logErr float64 // the largest absolute error
	featMax         float64 // the largest |feature| of the float32 model, for scale
	classes         bool    // the model has a classifier (top1 counts its classes)
	top1            int     // inputs whose arg-max class (or pooled arg-max) agrees
}

func (s quantStats) String() string {
	what := "class"
	if !s.classes {
		what = "pooled arg-max"
	}
	return fmt.Sprintf("features cos ≥ %.5f (max |err| %.3g of max |f32| %.3g), logits/pooled cos ≥ %.5f (max |err| %.3g), top-1 %s agreement %d/%d",
		s.featCos, s.featErr, s.featMax, s.logCos, s.logErr, what, s.top1, s.images)
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
	}
	if aa == 0 || bb == 0 {
		if aa == bb {
			return 1
		}
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func maxAbsErr(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func maxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// compareModels runs every image through both models.
func compareModels(t *testing.T, ref, q nn.Net, imgs []anyres.Image) quantStats {
	s := quantStats{featCos: 1, logCos: 1}
	for _, img := range imgs {
		var a, b anyres.Output
		if err := ref.Forward(img, &a); err != nil {
			t.Fatal(err)
		}
		if err := q.Forward(img, &b); err != nil {
			t.Fatal(err)
		}
		la, lb := a.Logits, b.Logits
		s.classes = len(la) > 0
		if !s.classes {
			la, lb = a.Pooled, b.Pooled
		}
		s.images++
		s.featCos = min(s.featCos, cosine(a.Tokens, b.Tokens))
		s.logCos = min(s.logCos, cosine(la, lb))
		s.featErr = max(s.featErr, maxAbsErr(a.Tokens, b.Tokens))
		s.featMax = max(s.featMax, maxAbs(a.Tokens))
		s.logErr = max(s.logErr, maxAbsErr(la, lb))
		if argmax(la) == argmax(lb) {
			s.top1++
		}
	}
	return s
}

// noiseImages are n images of standard normal pixels (what normalised
// photos look like to the first layer), sizes taken in turn from sizes.
func noiseImages(n, c int, sizes [][2]int, seed uint64) []anyres.Image {
	rng := rand.New(rand.NewPCG(seed, 99))
	var out []anyres.Image
	for i := 0; i < n; i++ {
		s := sizes[i%len(sizes)]
		pix := make([]float32, c*s[0]*s[1])
		for j := range pix {
			pix[j] = float32(rng.NormFloat64())
		}
		out = append(out, anyres.Image{C: c, H: s[0], W: s[1], Pix: pix})
	}
	return out
}

// goldenImages are a golden file's single-image inputs, and their sizes.
func goldenImages(t *testing.T, f *golden.File) ([]anyres.Image, [][2]int) {
	var imgs []anyres.Image
	var sizes [][2]int
	for _, c := range f.Cases {
		var p caseParams
		c.Decode(t, &p)
		if p.Height == 0 || len(c.Inputs) != 1 {
			continue
		}
		pix, shape := f.F32(t, c.Inputs[0])
		imgs = append(imgs, anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix})
		sizes = append(sizes, [2]int{shape[2], shape[3]})
	}
	return imgs, sizes
}

// dtypeGoals are issue 13's accuracy goals: the lowest features cosine
// similarity to float32 allowed for each reduced precision.
var dtypeGoals = []struct {
	dtype string
	cos   float64
}{{nn.Int8, 0.99}, {nn.BF16, 0.999}}

// loadGolden loads a golden model file through the front door as a user
// would: a hub folder (weights + timm's config.json) written from the file
// when it has a hub config, else the file itself (its own config
// metadata). It returns the path and the options that load it.
func loadGolden(t *testing.T, f *golden.File, name string, opts anyres.Options) (anyres.Model, string, anyres.Options) {
	t.Helper()
	path := filepath.Join(golden.Dir(t), name)
	if f.HasHub() {
		path = golden.WriteHubFolder(t, f, t.TempDir())
	} else {
		opts.Ignore = golden.NotWeight
	}
	m, err := anyres.Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, path, opts
}

// TestInt8Accuracy measures int8 and bf16 against float32 on every golden
// model file of every family (the files of testdata/golden with a
// timm_model entry): the golden inputs plus 16 noise images at the same
// sizes (4 with -short), against dtypeGoals; the numbers are logged
// (go test -run Int8Accuracy -v). Every registered family must have a
// golden model among them.
func TestInt8Accuracy(t *testing.T) {
	models := golden.Models(t)
	if len(models) == 0 {
		t.Fatal("no golden model files")
	}
	covered := map[string]bool{}
	for _, name := range models {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			ref, path, opts := loadGolden(t, f, name, anyres.Options{})
			defer ref.Close()
			covered[ref.Info().Family] = true
			imgs, sizes := goldenImages(t, f)
			if len(imgs) == 0 {
				t.Fatal("no single-image case")
			}
			noise := 16
			if testing.Short() { // race detector, emulators (int8 runs ~100× slower under qemu)
				noise = 4
			}
			imgs = append(imgs, noiseImages(noise, ref.Info().Channels, sizes, 7)...)
			for _, d := range dtypeGoals {
				opts.DType = d.dtype
				q, err := anyres.Load(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				s := compareModels(t, ref, q, imgs)
				q.Close()
				t.Logf("%s %s vs f32: %v", ref.Info().Family, d.dtype, s)
				if s.featCos < d.cos {
					t.Errorf("%s: features cosine %.5f < %v", d.dtype, s.featCos, d.cos)
				}
			}
		})
	}
	for _, fam := range anyres.Families() {
		if !covered[fam] {
			t.Errorf("family %s: no golden model measured", fam)
		}
	}
}

// TestInt8AccuracyViTB: ViT-B/16 (and a DINOv2-S shaped model: width 384,
// LayerScale, 4 registers, patch 14) with random weights, at 224² and
// 384². It takes a minute or two, so it runs only when asked:
//
//	ANYRES_FULLSIZE=1 go test -run Int8AccuracyViTB -v .
func TestInt8AccuracyViTB(t *testing.T) {
	if os.Getenv("ANYRES_FULLSIZE") == "" {
		t.Skip("full-size models: set ANYRES_FULLSIZE=1")
	}
	b := vit.ViTB16()
	b.DynamicImgPad = true
	s := vit.ViTB16()
	s.EmbedDim, s.NumHeads, s.MLPHidden, s.LayerScale, s.RegTokens, s.NumClasses = 384, 6, 1536, true, 4, 0
	s.PatchSize, s.ImgSize, s.DynamicImgPad = [2]int{14, 14}, [2]int{518, 518}, true
	for _, c := range []struct {
		name string
		cfg  vit.Config
	}{{"vit_base_patch16", b}, {"dinov2_small_shaped", s}} {
		t.Run(c.name, func(t *testing.T) {
			src := vit.RandomWeights(c.cfg, 3)
			ref, err := vit.New(c.cfg, src, vit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			imgs := noiseImages(6, 3, [][2]int{{224, 224}, {384, 384}}, 11)
			for _, d := range dtypeGoals {
				q, err := vit.New(c.cfg, src, vit.Options{Precision: nn.Precision{DType: d.dtype}})
				if err != nil {
					t.Fatal(err)
				}
				st := compareModels(t, ref, q, imgs)
				t.Logf("%s vs f32, %s random weights: %v", d.dtype, c.name, st)
				if st.featCos < d.cos {
					t.Errorf("%s: features cosine %.5f < %v", d.dtype, st.featCos, d.cos)
				}
			}
		})
	}
}

// TestLowPrecisionThreadsAndAllocs: an int8 or bf16 model gives the same
// bits on 1 and 3 threads, and a warm forward allocates nothing.
func TestLowPrecisionThreadsAndAllocs(t *testing.T) {
	name := "vit_dinov2_reg.safetensors"
	f := golden.Open(t, name)
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	imgs, _ := goldenImages(t, f)
	img := imgs[0]
	for _, d := range dtypeGoals {
		t.Run(d.dtype, func(t *testing.T) {
			perLevel(t, func(t *testing.T) {
				m, err := anyres.Load(dir, anyres.Options{DType: d.dtype, Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				var outs [2]anyres.Output
				for i, th := range []int{1, 3} {
					mt, err := anyres.WithThreads(m, th)
					if err != nil {
						t.Fatal(err)
					}
					if err := mt.Forward(img, &outs[i]); err != nil {
						t.Fatal(err)
					}
				}
				for i := range outs[0].Tokens {
					if math.Float32bits(outs[0].Tokens[i]) != math.Float32bits(outs[1].Tokens[i]) {
						t.Fatalf("feature %d: %v on 1 thread, %v on 3", i, outs[0].Tokens[i], outs[1].Tokens[i])
					}
				}
				if testing.Short() {
					return
				}
				var out anyres.Output
				m.Forward(img, &out)
				if n := testing.AllocsPerRun(5, func() { m.Forward(img, &out) }); n != 0 {
					t.Errorf("%v allocations per warm forward", n)
				}
			})
		})
	}
}

// TestDTypeErrors: an unknown dtype is a configuration error, not a
// silent float32 run (TestLowPrecisionEveryFamily runs every family in
// int8 and bf16).
func TestDTypeErrors(t *testing.T) {
	f := golden.Open(t, "vit_dinov2_reg.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	if _, err := anyres.Load(dir, anyres.Options{DType: "fp16"}); !errors.Is(err, anyres.ErrConfig) {
		t.Errorf("dtype fp16: %v, want ErrConfig", err)
	}
}

// TestKeepF32: layers named in KeepF32 stay float32; keeping every Linear
// gives the float32 model's bits.
func TestKeepF32(t *testing.T) {
	f := golden.Open(t, "vit_siglip_map.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	imgs, _ := goldenImages(t, f)
	run := func(o anyres.Options) anyres.Output {
		m, err := anyres.Load(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var out anyres.Output
		if err := m.Forward(imgs[0], &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ref := run(anyres.Options{})
	all := run(anyres.Options{DType: "int8", KeepF32: []string{"blocks", "head", "attn_pool"}})
	for i := range ref.Tokens {
		if math.Float32bits(ref.Tokens[i]) != math.Float32bits(all.Tokens[i]) {
			t.Fatalf("every layer kept: feature %d is %v, float32 %v", i, all.Tokens[i], ref.Tokens[i])
		}
	}
	q := run(anyres.Options{DType: "int8"})
	part := run(anyres.Options{DType: "int8", KeepF32: []string{"blocks.0"}})
	if maxAbsErr(part.Tokens, q.Tokens) == 0 {
		t.Error("keeping blocks.0 in float32 did not change the int8 model")
	}
	t.Logf("max |error| to float32: int8 %.3g, int8 with blocks.0 kept %.3g", maxAbsErr(ref.Tokens, q.Tokens), maxAbsErr(ref.Tokens, part.Tokens))
}

// TestLowPrecisionBatch: a packed batch gives each image the bits of its
// own forward pass (activations are quantized per row, so a row's result
// never depends on the other images), and so does Output.HeadOnly.
func TestLowPrecisionBatch(t *testing.T) {
	f := golden.Open(t, "deit_distilled.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	imgs, _ := goldenImages(t, f)
	if len(imgs) < 2 {
		t.Fatal("need two images")
	}
	imgs = imgs[:2]
	for _, d := range dtypeGoals {
		perLevel(t, func(t *testing.T) {
			m, err := anyres.Load(dir, anyres.Options{DType: d.dtype})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			outs := make([]anyres.Output, len(imgs))
			if err := m.ForwardBatch(imgs, outs); err != nil {
				t.Fatal(err)
			}
			alone := make([]anyres.Output, len(imgs))
			for i, img := range imgs {
				one := &alone[i]
				if err := m.Forward(img, one); err != nil {
					t.Fatal(err)
				}
				for j := range one.Tokens {
					if math.Float32bits(one.Tokens[j]) != math.Float32bits(outs[i].Tokens[j]) {
						t.Fatalf("%s image %d feature %d: batch %v, alone %v", d.dtype, i, j, outs[i].Tokens[j], one.Tokens[j])
					}
				}
			}
			// DeiT's two-token head: the last block keeps two rows.
			familytest.HeadOnly(t, m, imgs, alone)
		})
	}
}

// TestKeepF32EveryFamily: on every golden model, KeepF32 listing the timm
// name of every 2-D ".weight" of the checkpoint gives the float32 model's
// bits at int8 and bf16: each family names its Linear layers as timm does
// (a misnamed layer would stay quantized).
func TestKeepF32EveryFamily(t *testing.T) {
	for _, name := range golden.Models(t) {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			var keep []string
			for _, n := range f.Names() {
				if shape, err := f.Shape(n); err == nil && len(shape) == 2 && strings.HasSuffix(n, ".weight") && !golden.NotWeight(n) {
					keep = append(keep, strings.TrimSuffix(n, ".weight"))
				}
			}
			ref, path, opts := loadGolden(t, f, name, anyres.Options{})
			defer ref.Close()
			imgs, _ := goldenImages(t, f)
			var want anyres.Output
			if err := ref.Forward(imgs[0], &want); err != nil {
				t.Fatal(err)
			}
			for _, d := range dtypeGoals {
				opts.DType, opts.KeepF32 = d.dtype, keep
				m, err := anyres.Load(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				var got anyres.Output
				err = m.Forward(imgs[0], &got)
				m.Close()
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []struct {
					what      string
					want, got []float32
				}{{"feature", want.Tokens, got.Tokens}, {"pooled", want.Pooled, got.Pooled}, {"logit", want.Logits, got.Logits}} {
					for i := range c.want {
						if math.Float32bits(c.want[i]) != math.Float32bits(c.got[i]) {
							t.Fatalf("%s with every Linear kept: %s %d is %v, float32 %v", d.dtype, c.what, i, c.got[i], c.want[i])
						}
					}
				}
			}
		})
	}
}

// TestLowPrecisionEveryFamily: on every golden model, an int8 or bf16
// model gives the same bits on 1 and 3 threads, and a warm forward
// allocates nothing (at the best kernel level; TestLowPrecisionThreadsAndAllocs
// runs every level on one model). The dtype acts (the features differ
// from float32's) in every registered family: the front door accepts int8
// and bf16 for all of them.
func TestLowPrecisionEveryFamily(t *testing.T) {
	acts := map[string]bool{}
	for _, name := range golden.Models(t) {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			imgs, _ := goldenImages(t, f)
			img := imgs[len(imgs)-1]
			var f32 anyres.Output
			m32, _, _ := loadGolden(t, f, name, anyres.Options{})
			err := m32.Forward(img, &f32)
			family := m32.Info().Family
			m32.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range dtypeGoals {
				var outs [2]anyres.Output
				var m anyres.Model
				for i, th := range []int{3, 1} {
					m, _, _ = loadGolden(t, f, name, anyres.Options{DType: d.dtype, Threads: th})
					if err := m.Forward(img, &outs[i]); err != nil {
						t.Fatal(err)
					}
					if i == 0 {
						m.Close()
					}
				}
				for i := range outs[0].Tokens {
					if math.Float32bits(outs[0].Tokens[i]) != math.Float32bits(outs[1].Tokens[i]) {
						t.Fatalf("%s feature %d: %v on 3 threads, %v on 1", d.dtype, i, outs[0].Tokens[i], outs[1].Tokens[i])
					}
				}
				if !slices.Equal(outs[0].Tokens, f32.Tokens) {
					acts[family+" "+d.dtype] = true
				}
				if !testing.Short() {
					var out anyres.Output
					m.Forward(img, &out)
					if n := testing.AllocsPerRun(3, func() { m.Forward(img, &out) }); n != 0 {
						t.Errorf("%s: %v allocations per warm forward", d.dtype, n)
					}
				}
				m.Close()
			}
		})
	}
	if t.Failed() {
		return
	}
	for _, fam := range nn.Families() {
		for _, d := range dtypeGoals {
			if !acts[fam.Name+" "+d.dtype] {
				t.Errorf("family %s: no golden model whose %s features differ from float32's (dtype not honoured, or no golden model of the family)", fam.Name, d.dtype)
			}
		}
	}
}
