package anyres_test

import (
	"fmt"
	"path/filepath"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
)

// Load a hub folder (model.safetensors + config.json, as timm writes it),
// prepare a photo as the model says (its mean and std, from config.json;
// what `anyres run` does) at the photo's own size, and run it. The folder is a
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

	photo, err := imageprep.Load(filepath.Join("testdata", "images", "hills.jpg"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// info.Prep fills in the model's patch, normalisation (info.Input.Norm:
	// config.json's mean and std, SigLIP's 0.5) and token-budget rule.
	x, err := imageprep.Prepare(photo, info.Prep(imageprep.Options{})) // or Tokens: 576, or Size: ...
	if err != nil {
		fmt.Println(err)
		return
	}
	var out anyres.Output
	if err := m.Forward(x, &out); err != nil {
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

// Ask for the logits alone: Tokens stays empty, and a head that reads only
// the class token (vit_cls_learned: timm's global_pool='token') lets the
// last block run on that token, with the logits of the whole pass.
func ExampleOutput_headOnly() {
	m, err := anyres.Load(filepath.Join("testdata", "hub", "vit_cls_learned"), anyres.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	photo, err := imageprep.Load(filepath.Join("testdata", "images", "hills.jpg"))
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := imageprep.Prepare(photo, m.Info().Prep(imageprep.Options{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	var whole anyres.Output
	head := anyres.Output{HeadOnly: true}
	if err := m.Forward(x, &whole); err != nil {
		fmt.Println(err)
		return
	}
	if err := m.Forward(x, &head); err != nil {
		fmt.Println(err)
		return
	}
	same := len(head.Logits) == len(whole.Logits)
	for i := range head.Logits {
		same = same && head.Logits[i] == whole.Logits[i]
	}
	fmt.Println("tokens:", len(head.Tokens), "logits as the whole pass's:", same)
	// Output:
	// tokens: 0 logits as the whole pass's: true
}
