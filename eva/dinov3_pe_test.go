package eva

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/nn"
)

// refFacts are the facts a model-family reference file states in its
// `config` metadata (timm's built module).
type refFacts struct {
	GlobalPool   string `json:"global_pool"`
	PatchSize    [2]int `json:"patch_size"`
	ImgSize      [2]int `json:"img_size"`
	EmbedDim     int    `json:"embed_dim"`
	NumPrefix    int    `json:"num_prefix_tokens"`
	NoEmbedClass bool   `json:"no_embed_class"`
	NumClasses   int    `json:"num_classes"`
}

// TestInferredFacts: the config read from each new reference file's
// tensors and hub config agrees with what timm built, and with the
// position encoding its modules name.
func TestInferredFacts(t *testing.T) {
	for _, c := range []struct {
		file, rope string
		half       bool
		eps        float64
	}{
		{"dinov3_rope.safetensors", "dinov3", true, 1e-5},
		{"pe_core.safetensors", "cat", false, 1e-5},
		{"eva02_clip.safetensors", "cat", false, 1e-6},
		{"vit_rope_ape.safetensors", "cat", false, 1e-6},
	} {
		f, hub := familytest.Open(t, c.file)
		var want refFacts
		f.MetaJSON(t, "config", &want)
		cfg, err := InferConfig(f, hub)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if cfg.GlobalPool != want.GlobalPool || cfg.PatchSize != want.PatchSize || cfg.ImgSize != want.ImgSize ||
			cfg.EmbedDim != want.EmbedDim || cfg.Prefix() != want.NumPrefix || cfg.NoEmbedClass != want.NoEmbedClass ||
			cfg.NumClasses != want.NumClasses {
			t.Errorf("%s: read %+v, timm built %+v", c.file, cfg, want)
		}
		if cfg.Rope != c.rope || cfg.RopeHalf != c.half || cfg.NormEps != c.eps {
			t.Errorf("%s: RoPE %q half %v eps %g, want %q %v %g", c.file, cfg.Rope, cfg.RopeHalf, cfg.NormEps, c.rope, c.half, c.eps)
		}
	}
}

// TestDinoV3QKVBias: the _qkvb checkpoints carry q and v biases (zero in
// the released distilled models); zero biases give the reference's
// outputs, others change them.
func TestDinoV3QKVBias(t *testing.T) {
	f, hub := familytest.Open(t, "dinov3_rope.safetensors")
	cases := familytest.Cases(t, f)
	base := weightsOf(t, f)
	cfg, err := InferConfig(base, hub)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.EmbedDim
	h := *hub
	h.Architecture = strings.Replace(hub.Architecture, "_dinov3", "_dinov3_qkvb", 1)
	for i := 0; i < cfg.Depth; i++ {
		p := "blocks." + strconv.Itoa(i) + ".attn."
		base.MapSource[p+"q_bias"] = nn.Tensor{Data: make([]float32, d), Shape: []int{d}}
		base.MapSource[p+"v_bias"] = nn.Tensor{Data: make([]float32, d), Shape: []int{d}}
	}
	m, err := loadFamily(base, &h, nn.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	familytest.Golden(t, cases, m)
	for i := range base.MapSource["blocks.0.attn.v_bias"].Data {
		base.MapSource["blocks.0.attn.v_bias"].Data[i] = 0.5
	}
	m2, err := loadFamily(base, &h, nn.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	var a, b nn.Output
	if err := m.Forward(cases[0].Image, &a); err != nil {
		t.Fatal(err)
	}
	if err := m2.Forward(cases[0].Image, &b); err != nil {
		t.Fatal(err)
	}
	if familytest.MaxDiff(a.Tokens, b.Tokens) < 1e-3 {
		t.Error("a v bias of 0.5 changes nothing: the biases are not applied")
	}
}

// TestNewRefusals: settings that contradict the files, or that timm does
// not combine, are refused with errors that name them.
func TestNewRefusals(t *testing.T) {
	withArgs := func(file string, args map[string]any, edit func(nn.MapSource)) error {
		f, hub := familytest.Open(t, file)
		h := *hub
		h.ModelArgs = map[string]any{}
		for k, v := range hub.ModelArgs {
			h.ModelArgs[k] = v
		}
		for k, v := range args {
			h.ModelArgs[k] = v
		}
		ck := weightsOf(t, f)
		if edit != nil {
			edit(ck.MapSource)
		}
		m, err := loadFamily(ck, &h, nn.LoadOptions{})
		if err == nil {
			m.Close()
		}
		return err
	}
	// A pool head count that does not divide the PE file's width.
	pf, phub := familytest.Open(t, "pe_core.safetensors")
	pcfg, err := InferConfig(pf, phub)
	if err != nil {
		t.Fatal(err)
	}
	badHeads := 2
	for pcfg.EmbedDim%badHeads == 0 {
		badHeads++
	}
	// The last block's attention norm: every EVA-02 CLIP file has one.
	ef, ehub := familytest.Open(t, "eva02_clip.safetensors")
	ecfg, err := InferConfig(ef, ehub)
	if err != nil {
		t.Fatal(err)
	}
	lastNorm := fmt.Sprintf("blocks.%d.attn.norm.bias", ecfg.Depth-1)
	for _, c := range []struct {
		file string
		args map[string]any
		edit func(nn.MapSource)
		want string
		is   error
	}{
		{"dinov3_rope.safetensors", map[string]any{"ref_feat_shape": 16.0}, nil, "ref_feat_shape", nn.ErrConfig},
		{"dinov3_rope.safetensors", map[string]any{"rope_grid_offset": 1.0}, nil, "rope_grid_offset", nn.ErrConfig},
		{"dinov3_rope.safetensors", map[string]any{"rope_rotate_half": false}, nil, "rope_rotate_half", nn.ErrConfig},
		{"dinov3_rope.safetensors", map[string]any{"rope_type": "mrope"}, nil, "mrope", nn.ErrConfig},
		{"dinov3_rope.safetensors", map[string]any{"rope_rescale_coords": 2.0}, nil, "rope_rescale_coords", nn.ErrConfig},
		{"pe_core.safetensors", map[string]any{"attn_pool_mlp_ratio": 2.0}, nil, "attn_pool_mlp_ratio", nn.ErrConfig},
		{"pe_core.safetensors", map[string]any{"attn_pool_num_heads": float64(badHeads)}, nil, fmt.Sprintf("attention pool of %d heads", badHeads), nn.ErrConfig},
		{"pe_core.safetensors", nil, func(w nn.MapSource) { delete(w, "attn_pool.latent") }, "attn_pool.latent", nn.ErrWeight},
		{"pe_core.safetensors", nil, func(w nn.MapSource) { delete(w, "attn_pool.kv.bias") }, `"attn_pool.kv.bias"`, nn.ErrWeight},
		{"eva02_clip.safetensors", nil, func(w nn.MapSource) { delete(w, lastNorm) }, `"` + lastNorm + `"`, nn.ErrWeight},
		{"eva02_clip.safetensors", map[string]any{"scale_attn_inner": false}, nil, `"blocks.0.attn.norm.weight"`, nn.ErrWeight},
	} {
		err := withArgs(c.file, c.args, c.edit)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, c.is) {
			t.Errorf("%s %v: got %v, want %v naming %s", c.file, c.args, err, c.is, c.want)
		}
	}
}

// TestClaimsNew: DINOv3 and Perception Encoder names are this family's.
func TestClaimsNew(t *testing.T) {
	f, _ := familytest.Open(t, "dinov3_rope.safetensors")
	for _, arch := range []string{"vit_small_patch16_dinov3", "vit_large_patch16_dinov3_qkvb", "vit_huge_plus_patch16_dinov3",
		"vit_pe_core_small_patch16_384", "vit_pe_core_gigantic_patch14_448", "eva02_base_patch16_clip_224",
		"vit_small_patch16_rope_ape_224", "vit_base_patch16_rope_mixed_ape_224"} {
		if claims(arch, f) == 0 {
			t.Errorf("%s is not claimed", arch)
		}
	}
}

// TestNameFacts: timm's other DINOv3 and Perception Encoder variants,
// which no reference file holds, read as timm builds them (eva.py's
// model_args) from their names and tensors alone: the hub config.json of
// a timm checkpoint has no model_args.
func TestNameFacts(t *testing.T) {
	const d, depth, heads = 192, 2, 3 // a standard width: timm's head count for it
	// SwiGLU without its inner norm (DINOv3 S+/H+: swiglu_align_to).
	plus := ropeViT(d, 96, depth, heads, false)
	plus["reg_token"] = []int{1, 4, d}
	for i := 0; i < depth; i++ {
		p := "blocks." + strconv.Itoa(i) + "."
		delete(plus, p+"attn.qkv.bias")
		delete(plus, p+"mlp.fc1.weight")
		delete(plus, p+"mlp.fc1.bias")
		plus[p+"mlp.fc1_g.weight"], plus[p+"mlp.fc1_g.bias"] = []int{96, d}, []int{96}
		plus[p+"mlp.fc1_x.weight"], plus[p+"mlp.fc1_x.bias"] = []int{96, d}, []int{96}
	}
	// PE spatial: class token, table, norm_pre, LayerScale, no final norm.
	spatial := ropeViT(d, 4*d, depth, heads, false)
	delete(spatial, "patch_embed.proj.bias")
	delete(spatial, "norm.weight")
	delete(spatial, "norm.bias")
	delete(spatial, "head.weight")
	delete(spatial, "head.bias")
	spatial["pos_embed"] = []int{1, 1 + 32*32, d}
	spatial["norm_pre.weight"], spatial["norm_pre.bias"] = []int{d}, []int{d}
	// PE core G: no class token, so positions from 0.
	gigantic := peCore(d, depth, heads, 32)
	delete(gigantic, "cls_token")
	gigantic["pos_embed"] = []int{1, 32 * 32, d}
	for _, c := range []struct {
		arch   string
		shapes map[string][]int
		check  func(c Config) bool
	}{
		{"vit_small_plus_patch16_dinov3", plus, func(c Config) bool {
			return c.Rope == "dinov3" && c.RopeHalf && c.MLP == "swiglu" && !c.ScaleMLP && c.MLPHidden == 96 && c.RegTokens == 4 &&
				!c.AbsPosEmbed && c.NormEps == 1e-5 && c.GlobalPool == "avg"
		}},
		{"vit_pe_spatial_base_patch16_512", spatial, func(c Config) bool {
			return c.Rope == "cat" && c.RopeXY && c.RopeGridOffset == 1 && c.RopeRefShape == [2]int{32, 32} && c.RopeTemperature == 10000 &&
				c.LayerScale && c.PreNorm && !c.FinalNorm && !c.FCNorm && c.GlobalPool == "avg" && c.NormEps == 1e-5
		}},
		{"vit_pe_core_gigantic_patch14_448", gigantic, func(c Config) bool {
			return c.Rope == "cat" && c.RopeGridOffset == 0 && c.RopeRefShape == [2]int{32, 32} && c.GlobalPool == "map" &&
				c.PoolHeads == 8 && c.Prefix() == 0
		}},
	} {
		hub := &nn.HubConfig{Architecture: c.arch}
		if c.arch == "vit_pe_core_gigantic_patch14_448" {
			hub.ModelArgs = map[string]any{"patch_size": 16.0, "img_size": 512.0} // a 16-patch stand-in: 32×32 grid
		}
		m, err := loadFamily(familytest.Random(c.shapes, 5), hub, nn.LoadOptions{})
		if err != nil {
			t.Errorf("%s: %v", c.arch, err)
			continue
		}
		cfg := m.(*Model).Config()
		if !c.check(cfg) {
			t.Errorf("%s: read as %+v", c.arch, cfg)
		}
		var out nn.Output
		if err := m.Forward(familytest.BenchImage(48, 80), &out); err != nil {
			t.Errorf("%s: %v", c.arch, err)
		}
		m.Close()
	}
}
