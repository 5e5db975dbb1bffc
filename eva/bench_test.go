package eva

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/nn"
)

// eva02Tiny is eva02_tiny_patch14_224's tensors (random weights).
func eva02Tiny() map[string][]int {
	const d, h, depth = 192, 512, 12
	s := map[string][]int{"patch_embed.proj.weight": {d, 3, 14, 14}, "patch_embed.proj.bias": {d}, "cls_token": {1, 1, d},
		"pos_embed": {1, 257, d}, "fc_norm.weight": {d}, "fc_norm.bias": {d}, "head.weight": {1000, d}, "head.bias": {1000}}
	for i := 0; i < depth; i++ {
		p := "blocks." + strconv.Itoa(i) + "."
		for name, shape := range map[string][]int{"norm1.weight": {d}, "norm1.bias": {d}, "norm2.weight": {d}, "norm2.bias": {d},
			"attn.qkv.weight": {3 * d, d}, "attn.q_bias": {d}, "attn.v_bias": {d}, "attn.proj.weight": {d, d}, "attn.proj.bias": {d},
			"mlp.fc1.weight": {2 * h, d}, "mlp.fc1.bias": {2 * h}, "mlp.fc2.weight": {d, h}, "mlp.fc2.bias": {d}} {
			s[p+name] = shape
		}
	}
	return s
}

// ropeViT is the tensors of a naver RoPE ViT (vit_*_patch16_rope_*_224):
// class token, LayerScale, qkv with bias, GELU MLP, final norm, and with
// mixed RoPE its learned frequencies.
func ropeViT(d, h, depth, heads int, mixed bool) map[string][]int {
	s := map[string][]int{"patch_embed.proj.weight": {d, 3, 16, 16}, "patch_embed.proj.bias": {d}, "cls_token": {1, 1, d},
		"norm.weight": {d}, "norm.bias": {d}, "head.weight": {1000, d}, "head.bias": {1000}}
	if mixed {
		s["rope.freqs"] = []int{2, depth, heads, d / heads / 2}
	}
	for i := 0; i < depth; i++ {
		p := "blocks." + strconv.Itoa(i) + "."
		for name, shape := range map[string][]int{"norm1.weight": {d}, "norm1.bias": {d}, "norm2.weight": {d}, "norm2.bias": {d},
			"gamma_1": {d}, "gamma_2": {d}, "attn.qkv.weight": {3 * d, d}, "attn.qkv.bias": {3 * d}, "attn.proj.weight": {d, d},
			"attn.proj.bias": {d}, "mlp.fc1.weight": {h, d}, "mlp.fc1.bias": {h}, "mlp.fc2.weight": {d, h}, "mlp.fc2.bias": {d}} {
			s[p+name] = shape
		}
	}
	return s
}

// dinov3Small is vit_small_patch16_dinov3's tensors: no table, 4
// registers, LayerScale, qkv without bias.
func dinov3Small() map[string][]int {
	s := ropeViT(384, 1536, 12, 6, false)
	s["reg_token"] = []int{1, 4, 384}
	for i := 0; i < 12; i++ {
		delete(s, "blocks."+strconv.Itoa(i)+".attn.qkv.bias")
	}
	return s
}

// peCore is a Perception Encoder core's tensors (vit_pe_core_*): patch
// embedding without bias, norm_pre, a grid×grid table with class row, qkv
// with bias, the attention pool (MLP ratio 4), a 512-wide head.
func peCore(d, depth, heads, grid int) map[string][]int {
	s := ropeViT(d, 4*d, depth, heads, false)
	delete(s, "patch_embed.proj.bias")
	s["pos_embed"] = []int{1, 1 + grid*grid, d}
	s["norm_pre.weight"], s["norm_pre.bias"] = []int{d}, []int{d}
	for i := 0; i < depth; i++ {
		p := "blocks." + strconv.Itoa(i) + "."
		delete(s, p+"gamma_1")
		delete(s, p+"gamma_2")
	}
	for name, shape := range map[string][]int{"latent": {1, 1, d}, "q.weight": {d, d}, "q.bias": {d}, "kv.weight": {2 * d, d},
		"kv.bias": {2 * d}, "proj.weight": {d, d}, "proj.bias": {d}, "norm.weight": {d}, "norm.bias": {d},
		"mlp.fc1.weight": {4 * d, d}, "mlp.fc1.bias": {4 * d}, "mlp.fc2.weight": {d, 4 * d}, "mlp.fc2.bias": {d}} {
		s["attn_pool."+name] = shape
	}
	s["head.weight"], s["head.bias"] = []int{512, d}, []int{512}
	return s
}

// BenchmarkEva times EVA-02 Ti/14, RoPE-Mixed ViT-S/16, DINOv3 S/16 and
// Perception Encoder core S/16 (timm's sizes, random weights) at their
// training size and a larger one, on GOMAXPROCS workers:
//
//	go test ./eva -run - -bench Eva -benchtime 5x
func BenchmarkEva(b *testing.B) {
	for _, c := range []struct {
		arch   string
		shapes map[string][]int
		sizes  []int
	}{
		{"eva02_tiny_patch14_224", eva02Tiny(), []int{224, 448}},
		{"vit_small_patch16_rope_mixed_224", ropeViT(384, 1536, 12, 6, true), []int{224, 448}},
		{"vit_small_patch16_dinov3", dinov3Small(), []int{256, 512}},
		{"vit_pe_core_small_patch16_384", peCore(384, 12, 6, 24), []int{384, 512}},
	} {
		hub := &nn.HubConfig{Architecture: c.arch}
		net, err := loadFamily(familytest.Random(c.shapes, 1), hub, nn.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		m := net.(*Model)
		for _, s := range c.sizes {
			b.Run(fmt.Sprintf("%s/%dx%d", c.arch, s, s), func(b *testing.B) {
				familytest.Bench(b, m, s, s, m.FLOPs)
			})
		}
		m.Close()
	}
}
