package posenc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func TestRelativeLogCoordsGolden(t *testing.T) {
	f := golden.Open(t, "relative_position.safetensors")
	cases := needCases(t, f, "timm.layers.gen_relative_log_coords")
	// Pure table builders: run on every level all the same, so a kernel
	// used underneath later cannot slip by.
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range cases {
			var p struct {
				Win  [2]int `json:"win_size"`
				Pre  [2]int `json:"pretrained_win_size"`
				Mode string `json:"mode"`
			}
			c.Decode(t, &p)
			mode := LogCoordsSwin
			if p.Mode == "cr" {
				mode = LogCoordsCR
			}
			want, _ := f.F32(t, c.Outputs[0])
			got, err := RelativeLogCoords(Grid{p.Win[0], p.Win[1]}, Grid{p.Pre[0], p.Pre[1]}, mode)
			if err != nil {
				t.Fatal(err)
			}
			golden.Close(t, c.Name, got, want, 1e-6, 1e-6)
		}
	})
}

// TestCPBGolden runs RelPosMlp(mode='swin').get_bias through LoadCPB and
// AddBias (on zero scores) on every kernel level.
func TestCPBGolden(t *testing.T) {
	f := golden.Open(t, "relative_position.safetensors")
	cases := needCases(t, f, "timm.layers.RelPosMlp(mode='swin').get_bias")
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range cases {
			var p struct {
				Win   [2]int `json:"window_size"`
				Heads int    `json:"num_heads"`
				Pre   [2]int `json:"pretrained_window_size"`
			}
			c.Decode(t, &p)
			prefix := strings.TrimSuffix(c.Outputs[0], "_bias") + "."
			cpb, err := LoadCPB(f.Float32, prefix, Grid{p.Pre[0], p.Pre[1]})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := f.F32(t, c.Outputs[0])
			g := Grid{p.Win[0], p.Win[1]}
			n := g.N()
			got := make([]float32, p.Heads*n*n)
			for h := 0; h < p.Heads; h++ {
				if err := cpb.AddBias(got[h*n*n:(h+1)*n*n], h, g, 0, 0, n); err != nil {
					t.Fatal(err)
				}
			}
			golden.Close(t, c.Name, got, want, 1e-6, 1e-6)
			bias, err := cpb.Bias(g, 0)
			if err != nil {
				t.Fatal(err)
			}
			golden.Close(t, c.Name+" Bias", bias, want, 1e-6, 1e-6)
			// One prefix token: zero row and column around the same bias.
			bias1, err := cpb.Bias(g, 1)
			if err != nil {
				t.Fatal(err)
			}
			for h := 0; h < p.Heads; h++ {
				for i := 0; i <= n; i++ {
					for j := 0; j <= n; j++ {
						v := bias1[(h*(n+1)+i)*(n+1)+j]
						if (i == 0 || j == 0) && v != 0 {
							t.Fatalf("prefix entry (%d,%d) = %g, want 0", i, j, v)
						}
						if i > 0 && j > 0 && v != bias[(h*n+i-1)*n+j-1] {
							t.Fatalf("entry (%d,%d) moved with a prefix token", i, j)
						}
					}
				}
			}
		}
	})
}

// TestCPBAnyWindow: the continuous bias exists for any window, stays in
// (0, 16), and is the same function of the offset in every window.
func TestCPBAnyWindow(t *testing.T) {
	f := golden.Open(t, "relative_position.safetensors")
	// The file's MLP with a pretrained window of its own if it has one.
	var p struct {
		Heads int    `json:"num_heads"`
		Pre   [2]int `json:"pretrained_window_size"`
	}
	var prefix string
	for _, c := range needCases(t, f, "timm.layers.RelPosMlp(mode='swin').get_bias") {
		q := p
		c.Decode(t, &q)
		if prefix == "" || p.Pre == ([2]int{}) && q.Pre != ([2]int{}) {
			p, prefix = q, strings.TrimSuffix(c.Outputs[0], "_bias")+"."
		}
	}
	cpb, err := LoadCPB(f.Float32, prefix, Grid{p.Pre[0], p.Pre[1]})
	if err != nil {
		t.Fatal(err)
	}
	nh := p.Heads
	small, _ := cpb.Table(Grid{3, 5})
	for _, w := range []Grid{{3, 5}, {1, 1}, {1, 9}, {17, 4}, {24, 24}} {
		tab, err := cpb.Table(w)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tab {
			if !(v > 0 && v < 16) {
				t.Fatalf("%v: bias %g outside (0, 16)", w, v)
			}
		}
		if w.H >= 3 && w.W >= 5 { // offset (dy, dx) = (1, -2) in both tables
			a := tab[((1+w.H-1)*(2*w.W-1)+(-2+w.W-1))*nh:][:nh]
			b := small[((1+2)*9+(-2+4))*nh:][:nh]
			golden.Close(t, fmt.Sprint(w), a, b, 0, 0)
		}
	}
}

func TestCPBErrors(t *testing.T) {
	if _, err := NewCPB(make([]float32, 8), make([]float32, 4), make([]float32, 7), 2, 4, Grid{}); err == nil {
		t.Error("short fc2: no error")
	}
	if _, err := NewCPB(nil, nil, nil, 0, 4, Grid{}); err == nil {
		t.Error("zero heads: no error")
	}
	if _, err := NewCPB(make([]float32, 8), make([]float32, 4), make([]float32, 8), 2, 4, Grid{1, 5}); err == nil {
		t.Error("1×5 pretrained window: no error")
	}
	c, err := NewCPB(make([]float32, 8), make([]float32, 4), make([]float32, 8), 2, 4, Grid{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddBias(make([]float32, 4), 0, Grid{1, 2}, 0, 0, 2); err == nil || !strings.Contains(err.Error(), "2×2") {
		t.Errorf("1×2 window without a pretrained one: error %v", err)
	}
	if _, err := RelativeLogCoords(Grid{3, 3}, Grid{}, 9); err == nil {
		t.Error("unknown mode: no error")
	}
	missing := func(name string) ([]float32, []int, error) { return nil, nil, fmt.Errorf("no tensor %q", name) }
	if _, err := LoadCPB(missing, "x.", Grid{}); err == nil || !strings.Contains(err.Error(), "x.mlp.fc1.weight") {
		t.Errorf("missing tensor: error %v", err)
	}
}
