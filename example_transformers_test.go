package anyres_test

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/posenc"
)

// A transformers folder (config.json with model_type, model.safetensors)
// loads like any other checkpoint. This one's reference outputs were made
// by transformers 4.44, whose position-table rule is an option; without it
// anyres resizes the table as transformers >= 4.45 does. The same code is
// in docs/transformers.md.
func Example_transformers() {
	dir := filepath.Join("testdata", "hf", "vit_v444") // e.g. a download of google/vit-base-patch16-224
	v444 := posenc.TransformersResampleV444()
	m, err := anyres.Load(dir, anyres.Options{Resample: &v444})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	info := m.Info()
	fmt.Println(info.Family, info.Transformers.Class, info.Transformers.Tokens, info.Transformers.Pooled)

	// Compare with what transformers computed for a 48×40 input.
	ref, err := tensorfile.Open(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ref.Close()
	x, shape, _ := ref.Float32("in_48x40")
	var out anyres.Output
	if err := m.Forward(anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: x}, &out); err != nil {
		fmt.Println(err)
		return
	}
	want, _, _ := ref.Float32("last_hidden_state_48x40")
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(out.Tokens[i]-want[i])))
	}
	fmt.Printf("grid %v, last_hidden_state within 1e-4: %v\n", out.Grid, worst < 1e-4)
	// Output:
	// vit ViTModel last_hidden_state [pooler_output]
	// grid 6×5, last_hidden_state within 1e-4: true
}
