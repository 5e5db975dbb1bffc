package swin

import ("testing"; "fmt"; "github.com/anyres/anyres/kernels")

func BenchmarkOldForward(b *testing.B) {
	cfg := Config{PatchSize: [2]int{4, 4}, EmbedDim: 96, Depths: []int{2, 2, 6, 2}, NumHeads: []int{3, 6, 12, 24},
		WindowSize: [2]int{7, 7}, NormEps: 1e-5, NumClasses: 1000, GlobalPool: "avg", ImgSize: [2]int{224, 224}}
	src, err := RandomWeights(cfg, 1)
	if err != nil { b.Fatal(err) }
	m, err := New(cfg, src, Options{})
	if err != nil { b.Fatal(err) }
	_ = kernels.Threads(1)
	for _, s := range []int{224, 448} {
		img := Image{C: 3, H: s, W: s, Pix: make([]float32, 3*s*s)}
		b.Run(fmt.Sprint(s), func(b *testing.B) { var out Output; for b.Loop() { m.Forward(img, &out) } })
	}
}
