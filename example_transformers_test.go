package anyres_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

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
	dir := filepath.Join("testdata", "golden", "hf", "vit_v444") // e.g. a download of google/vit-base-patch16-224
	v444 := posenc.TransformersResampleV444()
	m, err := anyres.Load(dir, anyres.Options{Resample: &v444})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	info := m.Info()
	fmt.Println(info.Family, info.Transformers.Class, info.Transformers.Tokens, info.Transformers.Pooled)

	// Compare with what transformers computed on each reference input
	// (in_<case>, its last_hidden_state_<case>).
	ref, err := tensorfile.Open(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ref.Close()
	worst, cases := 0.0, 0
	for _, name := range ref.Names() {
		c, ok := strings.CutPrefix(name, "in_")
		if !ok {
			continue
		}
		x, shape, err := ref.Float32(name)
		if err != nil || len(shape) != 4 {
			fmt.Println(name, shape, err)
			return
		}
		var out anyres.Output
		if err := m.Forward(anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: x}, &out); err != nil {
			fmt.Println(err)
			return
		}
		want, _, err := ref.Float32("last_hidden_state_" + c)
		if err != nil || len(want) != len(out.Tokens) {
			fmt.Println(c, err)
			return
		}
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(out.Tokens[i]-want[i])))
		}
		cases++
	}
	fmt.Printf("last_hidden_state within 1e-4 on every reference input: %v\n", cases > 0 && worst < 1e-4)
	// Output:
	// vit ViTModel last_hidden_state [pooler_output]
	// last_hidden_state within 1e-4 on every reference input: true
}
