package posenc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func TestPEGGolden(t *testing.T) {
	f := golden.Open(t, "peg.safetensors")
	peg, err := LoadPEG(f.Float32, "peg.")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no PEG cases")
	}
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range f.Cases {
			var p struct {
				Size [2]int `json:"size"`
			}
			c.Decode(t, &p)
			in, _ := f.F32(t, c.Inputs[2])
			want, _ := f.F32(t, c.Outputs[0])
			g := Grid{p.Size[0], p.Size[1]}
			for _, prefix := range []int{0, 1, 4} {
				x := make([]float32, prefix*16, prefix*16+len(in))
				for i := range x {
					x[i] = float32(i) + 0.5
				}
				pre := append([]float32(nil), x...)
				x = append(x, in...)
				if err := peg.AddTo(x, prefix, g, 16); err != nil {
					t.Fatal(err)
				}
				golden.Close(t, fmt.Sprintf("%s prefix %d", c.Name, prefix), x[prefix*16:], want, 1e-6, 1e-6)
				golden.Close(t, c.Name+" prefix rows", x[:prefix*16], pre, 0, 0)
			}
		}
	})
}

func TestPEGErrors(t *testing.T) {
	if _, err := NewPEG(make([]float32, 17), make([]float32, 2), 2); err == nil {
		t.Error("weight of 17 values for 2 channels: no error")
	}
	if _, err := NewPEG(nil, nil, 0); err == nil {
		t.Error("0 channels: no error")
	}
	p, _ := NewPEG(make([]float32, 18), make([]float32, 2), 2)
	if err := p.AddTo(make([]float32, 12), 0, Grid{2, 2}, 3); err == nil || !strings.Contains(err.Error(), "channels") {
		t.Errorf("3-wide tokens for 2 channels: error %v", err)
	}
	if err := p.AddTo(make([]float32, 7), 0, Grid{2, 2}, 2); err == nil {
		t.Error("short token matrix: no error")
	}
	bad := func(name string) ([]float32, []int, error) {
		return make([]float32, 2*9), []int{2, 9}, nil
	}
	if _, err := LoadPEG(bad, ""); err == nil || !strings.Contains(err.Error(), "depthwise") {
		t.Errorf("weight shape [2 9]: error %v", err)
	}
}
