package anyres_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
)

// Load a hub folder (model.safetensors + config.json, as timm writes it),
// prepare a photo with the model's own mean and std from config.json (as
// `anyres run` does) at the photo's own size, and run it. The folder is a
// tiny SigLIP with random weights from testdata/hub; the README shows the
// same code.
func ExampleLoad() {
	dir := filepath.Join("testdata", "hub", "vit_siglip_map") // or a download such as timm/vit_base_patch16_siglip_224.webli
	m, err := anyres.Load(dir, anyres.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	info := m.Info()

	// The model's normalisation: config.json's pretrained_cfg mean and std
	// (SigLIP's are 0.5, not ImageNet's).
	config, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	norm, ok, err := imageprep.NormFromConfig(config)
	if err != nil {
		fmt.Println(err)
		return
	}
	if !ok {
		norm = imageprep.ImageNet // the config names none
	}
	photo, err := imageprep.Load(filepath.Join("testdata", "images", "hills.jpg"))
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := imageprep.Prepare(photo, imageprep.Options{Patch: info.Patch[0], Norm: norm}) // or Tokens: 576, or Size: ...
	if err != nil {
		fmt.Println(err)
		return
	}
	var out anyres.Output
	if err := m.Forward(anyres.Image{C: x.C, H: x.H, W: x.W, Pix: x.Data}, &out); err != nil {
		fmt.Println(err)
		return
	}
	// out.Tokens (forward_features), out.Pooled, out.Logits; m.ForwardBatch packs images of any sizes.
	fmt.Printf("%s: input %dx%d, grid %v + %d prefix tokens\n", info.Family, x.H, x.W, out.Grid, out.Prefix)
	fmt.Println("a row of info.Width values per token:", len(out.Tokens) == (out.Grid.N()+out.Prefix)*info.Width)
	fmt.Println("one logit per class:", len(out.Logits) == info.NumClasses)
	// Output:
	// vit: input 333x500, grid 20×31 + 0 prefix tokens
	// a row of info.Width values per token: true
	// one logit per class: true
}
