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

// BenchmarkEva times EVA-02 Ti/14 and RoPE-Mixed ViT-S/16 (timm's sizes,
// random weights) at their training size and twice its side, on
// GOMAXPROCS workers:
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
	} {
		hub := &nn.HubConfig{Architecture: c.arch}
		net, err := Load(familytest.Random(c.shapes, 1), hub, nn.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		m := net.(*Model)
		for _, s := range c.sizes {
			b.Run(fmt.Sprintf("%s/%dx%d", c.arch, s, s), func(b *testing.B) {
				familytest.Bench(b, m, s, s, func(h, w int) float64 { return m.FLOPsFor([2]int{h, w}) })
			})
		}
		m.Close()
	}
}
