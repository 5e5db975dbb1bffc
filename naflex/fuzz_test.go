package naflex

import (
	"testing"

	"github.com/anyres/anyres/nn"
)

// FuzzForwardPatches: any batch shape, coordinates and validity flags give
// a result or an error, never a panic.
func FuzzForwardPatches(f *testing.F) {
	f.Add(uint8(2), uint8(6), []byte{0, 0, 0, 1, 1, 0, 1, 1, 9, 9, 9, 9}, []byte{0x0f, 0x03})
	f.Add(uint8(1), uint8(4), []byte{0, 0, 0, 1, 0, 2, 0, 3}, []byte{0x0f})
	f.Add(uint8(3), uint8(2), []byte{0, 0, 255, 0, 0, 0, 0, 1}, []byte{0xff})
	cfg := Config{PatchSize: [2]int{2, 2}, InChans: 3, EmbedDim: 6, Depth: 1, NumHeads: 2, MLPHidden: 8, QKVBias: true,
		PosGrid: [2]int{3, 3}, PosInterp: "bicubic", FinalNorm: true, GlobalPool: "avg", Act: "gelu", NormEps: 1e-6, NumClasses: 2}
	m, err := newModel(cfg, RandomWeights(cfg, 1), options{RunOptions: nn.RunOptions{Threads: 2, MaxTokens: 64}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, batch, rows uint8, coord, valid []byte) {
		b, r := int(batch%5), int(rows%40)
		n := b * r
		p := Patches{Batch: b, Rows: r, Data: make([]float32, n*12), Coord: make([]int64, 2*n), Valid: make([]bool, n)}
		for i := range p.Coord {
			if i < len(coord) {
				p.Coord[i] = int64(int8(coord[i]))
			}
		}
		for i := range p.Valid {
			if i/8 < len(valid) {
				p.Valid[i] = valid[i/8]>>(i%8)&1 == 1
			}
		}
		outs := make([]nn.Output, b)
		if err := m.ForwardPatches(p, outs); err != nil {
			return
		}
		for i, o := range outs {
			if len(o.Tokens) != o.Grid.N()*cfg.EmbedDim || len(o.Logits) != cfg.NumClasses {
				t.Fatalf("image %d: %d token values for grid %v, %d logits", i, len(o.Tokens), o.Grid, len(o.Logits))
			}
		}
	})
}
