package beit

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// beitBase is beit_base_patch16_224's tensors (random weights).
func beitBase() map[string][]int {
	const d, h, depth, heads = 768, 3072, 12, 12
	rows := posenc.RelPosTableRows(posenc.Grid{H: 14, W: 14}, true)
	s := map[string][]int{"patch_embed.proj.weight": {d, 3, 16, 16}, "patch_embed.proj.bias": {d}, "cls_token": {1, 1, d},
		"fc_norm.weight": {d}, "fc_norm.bias": {d}, "head.weight": {1000, d}, "head.bias": {1000}}
	for i := 0; i < depth; i++ {
		p := "blocks." + strconv.Itoa(i) + "."
		for name, shape := range map[string][]int{"norm1.weight": {d}, "norm1.bias": {d}, "norm2.weight": {d}, "norm2.bias": {d},
			"gamma_1": {d}, "gamma_2": {d}, "attn.qkv.weight": {3 * d, d}, "attn.q_bias": {d}, "attn.v_bias": {d},
			"attn.relative_position_bias_table": {rows, heads}, "attn.proj.weight": {d, d}, "attn.proj.bias": {d},
			"mlp.fc1.weight": {h, d}, "mlp.fc1.bias": {h}, "mlp.fc2.weight": {d, h}, "mlp.fc2.bias": {d}} {
			s[p+name] = shape
		}
	}
	return s
}

// BenchmarkBEiT times BEiT-B/16 (timm's size, random weights) at its
// training size and at 384² (its tables resized, once, for the 24×24
// grid), on GOMAXPROCS workers:
//
//	go test ./beit -run - -bench BEiT -benchtime 3x
func BenchmarkBEiT(b *testing.B) {
	net, err := loadFamily(familytest.Random(beitBase(), 1), &nn.HubConfig{Architecture: "beit_base_patch16_224"}, nn.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := net.(*Model)
	defer m.Close()
	for _, s := range []int{224, 384} {
		b.Run(fmt.Sprintf("beit_base_patch16_224/%dx%d", s, s), func(b *testing.B) {
			familytest.Bench(b, m, s, s, m.FLOPs)
		})
	}
}
