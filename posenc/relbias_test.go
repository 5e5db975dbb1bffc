package posenc

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func TestRelativePositionIndexGolden(t *testing.T) {
	f := golden.Open(t, "relative_position.safetensors")
	cases := needCases(t, f, "timm.layers.gen_relative_position_index")
	// Pure table builders: run on every level all the same, so a kernel
	// used underneath later cannot slip by.
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range cases {
			var p struct {
				Q     [2]int `json:"q_size"`
				Class bool   `json:"class_token"`
			}
			c.Decode(t, &p)
			want, _ := f.I64(t, c.Outputs[0])
			got, err := RelativePositionIndex(Grid{p.Q[0], p.Q[1]}, p.Class)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d entries, want %d", c.Name, len(got), len(want))
			}
			for i := range want {
				if int64(got[i]) != want[i] {
					t.Fatalf("%s: entry %d = %d, want %d", c.Name, i, got[i], want[i])
				}
			}
		}
	})
}

func TestResizeRelPosTableGolden(t *testing.T) {
	f := golden.Open(t, "relative_position.safetensors")
	cases := needCases(t, f, "timm.layers.resize_rel_pos_bias_table")
	// Pure table builders: run on every level all the same, so a kernel
	// used underneath later cannot slip by.
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range cases {
			var p struct {
				Src   [2]int `json:"src_window"`
				Dst   [2]int `json:"new_window_size"`
				Extra int    `json:"num_prefix_rows"`
				Heads int    `json:"num_heads"`
			}
			c.Decode(t, &p)
			table, _ := f.F32(t, c.Inputs[0])
			want, _ := f.F32(t, c.Outputs[0])
			got, err := ResizeRelPosTable(table, p.Heads, Grid{p.Src[0], p.Src[1]}, Grid{p.Dst[0], p.Dst[1]}, p.Extra)
			if err != nil {
				t.Fatal(err)
			}
			golden.Close(t, c.Name, got, want, 1e-6, 1e-6)
		}
	})
}

// TestRelPosBiasGolden gathers the golden resized tables through RelPosBias
// on every kernel level and checks every score against the index and table
// by hand (timm's get_bias: table[index].permute(2, 0, 1)), with and without
// class-token rows, prefix tokens, offsets, and scores that were not zero.
func TestRelPosBiasGolden(t *testing.T) {
	f := golden.Open(t, "relative_position.safetensors")
	rng := rand.New(rand.NewPCG(5, 6))
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range goldenCases(f, "timm.layers.resize_rel_pos_bias_table") {
			var p struct {
				Src   [2]int `json:"src_window"`
				Dst   [2]int `json:"new_window_size"`
				Extra int    `json:"num_prefix_rows"`
				Heads int    `json:"num_heads"`
			}
			c.Decode(t, &p)
			src, _ := f.F32(t, c.Inputs[0])
			resized, _ := f.F32(t, c.Outputs[0])
			class := p.Extra == 3
			from, to := Grid{p.Src[0], p.Src[1]}, Grid{p.Dst[0], p.Dst[1]}
			offset := []float32{0.25, -1, 3}
			b, err := NewRelPosBias(src, p.Heads, from, class, offset)
			if err != nil {
				t.Fatal(err)
			}
			for _, prefix := range []int{0, 1} {
				for _, g := range []Grid{from, to} {
					table := resized
					if g == from {
						table = src
					}
					idx, _ := RelativePositionIndex(g, class && prefix == 1)
					n := prefix + g.N()
					for h := 0; h < p.Heads; h++ {
						scores := kerneltest.Rand(rng, n*n, -2, 2)
						want := make([]float32, n*n)
						for i := 0; i < n; i++ {
							for j := 0; j < n; j++ {
								var v float32
								switch {
								case class && prefix == 1:
									v = table[int(idx[i*n+j])*p.Heads+h]
								case i >= prefix && j >= prefix:
									m := g.N()
									v = table[int(idx[(i-prefix)*m+j-prefix])*p.Heads+h]
								}
								want[i*n+j] = scores[i*n+j] + (v + offset[h])
							}
						}
						// Head 0 whole, the others in query tiles (one of a
						// single row, one starting inside the prefix).
						cuts := []int{0, n}
						if h > 0 {
							cuts = []int{0, n / 3, n - 1, n}
						}
						for k := 0; k+1 < len(cuts); k++ {
							lo, hi := cuts[k], cuts[k+1]
							if err := b.AddBias(scores[lo*n:hi*n], h, g, prefix, lo, hi); err != nil {
								t.Fatal(err)
							}
						}
						golden.Close(t, c.Name, scores, want, 1e-6, 1e-6)
					}
				}
			}
		}
	})
}

func TestRelPosBiasErrors(t *testing.T) {
	w := Grid{2, 3}
	table := make([]float32, RelPosTableRows(w, false)*2)
	if _, err := NewRelPosBias(table[1:], 2, w, false, nil); err == nil || !strings.Contains(err.Error(), "want") {
		t.Errorf("short table: error %v", err)
	}
	if _, err := NewRelPosBias(table, 0, w, false, nil); err == nil {
		t.Error("zero heads: no error")
	}
	if _, err := NewRelPosBias(table, 2, Grid{0, 3}, false, nil); err == nil {
		t.Error("empty window: no error")
	}
	if _, err := NewRelPosBias(table, 2, w, false, []float32{1}); err == nil {
		t.Error("offset of the wrong length: no error")
	}
	b, err := NewRelPosBias(table, 2, w, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddBias(make([]float32, 36), 2, w, 0, 0, 6); err == nil || !strings.Contains(err.Error(), "head") {
		t.Errorf("head out of range: error %v", err)
	}
	if err := b.AddBias(make([]float32, 35), 0, w, 0, 0, 6); err == nil {
		t.Error("short scores: no error")
	}
	if err := b.AddBias(make([]float32, 36), 0, w, -1, 0, 6); err == nil {
		t.Error("negative prefix: no error")
	}
	if err := b.AddBias(make([]float32, 12), 0, w, 0, 5, 7); err == nil || !strings.Contains(err.Error(), "queries") {
		t.Errorf("queries beyond the tokens: error %v", err)
	}
	cb, _ := NewRelPosBias(make([]float32, RelPosTableRows(w, true)*2), 2, w, true, nil)
	if err := cb.AddBias(make([]float32, 64), 0, w, 2, 0, 8); err == nil || !strings.Contains(err.Error(), "one prefix") {
		t.Errorf("two prefix tokens with class rows: error %v", err)
	}
	if _, err := ResizeRelPosTable(table, 2, w, Grid{1 << 20, 1 << 20}, 0); err == nil {
		t.Error("huge target window: no error")
	}
}
