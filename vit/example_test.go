package vit_test

import (
	"errors"
	"fmt"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/posenc"
	"github.com/anyres/anyres/vit"
)

// Three images of different sizes run as one packed sequence; each gets
// the outputs it would get alone. A checkpoint is opened by the front
// door, anyres.Load, which picks the family (here vit).
func ExampleModel_ForwardBatch() {
	m, err := anyres.Load("../testdata/models/vit_tiny.safetensors", anyres.Options{Threads: 2})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	var imgs []anyres.Image
	for _, s := range [][2]int{{224, 224}, {97, 333}, {48, 32}} {
		imgs = append(imgs, anyres.Image{C: 3, H: s[0], W: s[1], Pix: make([]float32, 3*s[0]*s[1])})
	}
	outs := make([]anyres.Output, len(imgs))
	if err := m.ForwardBatch(imgs, outs); err != nil {
		panic(err)
	}
	for i, o := range outs {
		fmt.Printf("%dx%d: grid %s, %d tokens, %d logits\n", imgs[i].H, imgs[i].W, o.Grid, o.Prefix+o.Grid.N(), len(o.Logits))
	}
	// Output:
	// 224x224: grid 14×14, 197 tokens, 10 logits
	// 97x333: grid 7×21, 148 tokens, 10 logits
	// 48x32: grid 3×2, 7 tokens, 10 logits
}

// A checkpoint without config metadata, run at patch size 8 (FlexiViT).
func ExampleNew() {
	cfg := vit.Config{ImgSize: [2]int{64, 64}, PatchSize: [2]int{16, 16}, EmbedDim: 32, Depth: 1, NumHeads: 2,
		MLPHidden: 64, QKVBias: true, ClassToken: true, PosEmbed: "learn", GlobalPool: "token", FinalNorm: true,
		NormEps: 1e-6, NumClasses: 5}
	m, err := vit.New(cfg, vit.RandomWeights(cfg, 1), vit.Options{PatchSize: [2]int{8, 8}})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Grid(64, 40))
	// Output: 8×5
}

// EVA-02-style 2-D RoPE and a BEiT-style relative position bias inside
// every block's attention, each image on its own grid.
func ExampleOptions_attentionEncodings() {
	cfg := vit.Config{ImgSize: [2]int{64, 64}, PatchSize: [2]int{16, 16}, EmbedDim: 32, Depth: 2, NumHeads: 2,
		MLPHidden: 64, QKVBias: true, ClassToken: true, PosEmbed: "none", GlobalPool: "token", FinalNorm: true,
		NormEps: 1e-6}
	window := posenc.Grid{H: 4, W: 4} // the grid the bias table was learned for; resized to others
	table := make([]float32, posenc.RelPosTableRows(window, true)*cfg.NumHeads)
	bias, err := posenc.NewRelPosBias(table, cfg.NumHeads, window, true, nil)
	if err != nil {
		panic(err)
	}
	rope := &posenc.Rope2D{Options: posenc.RopeOptions{RefGrid: window}}
	m, err := vit.New(cfg, vit.RandomWeights(cfg, 1), vit.Options{Rotary: rope, AttentionBias: bias})
	if err != nil {
		panic(err)
	}
	imgs := []vit.Image{{C: 3, H: 64, W: 96, Pix: make([]float32, 3*64*96)}, {C: 3, H: 32, W: 32, Pix: make([]float32, 3*32*32)}}
	outs := make([]vit.Output, len(imgs))
	if err := m.ForwardBatch(imgs, outs); err != nil {
		panic(err)
	}
	for _, o := range outs {
		fmt.Println(o.Grid, len(o.Pooled))
	}
	// A head dim RoPE cannot rotate is an error, not a panic.
	cfg.EmbedDim, cfg.NumHeads = 36, 6
	_, err = vit.New(cfg, vit.RandomWeights(cfg, 1), vit.Options{Rotary: rope})
	fmt.Println(errors.Is(err, vit.ErrConfig))
	// Output:
	// 4×6 32
	// 2×2 32
	// true
}

func ExampleModel_Forward() {
	m, err := anyres.Load("../testdata/models/vit_tiny.safetensors", anyres.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	img := anyres.Image{C: 3, H: 48, W: 80, Pix: make([]float32, 3*48*80)}
	var out anyres.Output
	if err := m.Forward(img, &out); err != nil {
		panic(err)
	}
	fmt.Println(out.Grid, len(out.Tokens), len(out.Logits))
	// Output: 3×5 960 10
}
