package golden

import "testing"

// TestEveryGoldenFileReads opens each reference file and checks that every
// tensor a case names is present and decodable.
func TestEveryGoldenFileReads(t *testing.T) {
	for _, name := range []string{
		"elementwise.safetensors", "interpolate.safetensors", "peg.safetensors",
		"relative_position.safetensors", "resample_abs_pos_embed.safetensors",
		"resample_patch_embed.safetensors", "sincos_rope.safetensors",
		"swin_small_window.safetensors", "vit_cls_learned.safetensors",
		"vit_nope.safetensors", "vit_reg_noembedcls_avg.safetensors",
	} {
		f := Open(t, name)
		if len(f.Cases) == 0 {
			t.Errorf("%s: no cases", name)
		}
		for _, c := range f.Cases {
			for _, tn := range append(append([]string{}, c.Inputs...), c.Outputs...) {
				if _, _, err := f.Float32(tn); err != nil {
					if _, _, err2 := f.Int64(tn); err2 != nil {
						t.Errorf("%s case %s: %v", name, c.Name, err)
					}
				}
			}
		}
	}
}

func TestCloseCatchesDifferences(t *testing.T) {
	ft := &testing.T{}
	Close(ft, "x", []float32{1, 2}, []float32{1, 2.1}, 1e-3, 0)
	if !ft.Failed() {
		t.Error("Close accepted a difference of 0.1 at atol 1e-3")
	}
}
