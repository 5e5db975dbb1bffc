package imageprep_test

import (
	"fmt"
	"image"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
)

// Prepare a photo for a patch-16 ViT with a budget of 256 tokens: the image
// keeps its 3:4 aspect ratio and becomes a whole number of patches.
func ExamplePrepare() {
	photo := image.NewRGBA(image.Rect(0, 0, 480, 640)) // in practice: imageprep.Load("photo.jpg")
	for i := range photo.Pix {
		photo.Pix[i] = 255 // white
	}
	x, err := imageprep.Prepare(photo, imageprep.Options{Tokens: 256, Patch: 16, Norm: imageprep.ImageNet})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d×%d×%d, grid %d×%d\n", x.C, x.H, x.W, x.H/16, x.W/16)
	fmt.Printf("red of a white pixel: (1 - 0.485) / 0.229 = %.3f\n", x.At(0, 0, 0))
	// Output:
	// 3×288×224, grid 18×14
	// red of a white pixel: (1 - 0.485) / 0.229 = 2.249
}

// The largest grid under a token budget, for a few image shapes.
func ExampleBudgetSize() {
	for _, s := range []imageprep.Size{{H: 1080, W: 1920}, {H: 1000, W: 1000}, {H: 200, W: 3000}} {
		out, _ := imageprep.BudgetSize(s.H, s.W, 16, 576)
		fmt.Printf("%v → %v (%d tokens)\n", s, out, (out.H/16)*(out.W/16))
	}
	// Output:
	// 1080x1920 → 288x512 (576 tokens)
	// 1000x1000 → 384x384 (576 tokens)
	// 200x3000 → 96x1536 (576 tokens)
}

// Images smaller than one patch are refused with an error, not a panic.
func ExampleOptions_TargetSize() {
	o := imageprep.Options{Size: imageprep.Size{H: 384, W: 512}}
	s, _ := o.TargetSize(imageprep.Size{H: 600, W: 800})
	fmt.Println(s)
	_, err := imageprep.Prepare(image.NewGray(image.Rect(0, 0, 10, 10)), imageprep.Options{Patch: 16, Norm: imageprep.Identity})
	fmt.Println(err)
	// Output:
	// 384x512
	// imageprep: image 10x10 is smaller than one 16×16 patch; choose a larger size or a token budget
}

// From a photo to a ViT's classes at the photo's own resolution: decode,
// normalise as the model says (Info.Prep), run (the small test model's weights are random, so its class
// means nothing).
func Example_vit() {
	m, err := anyres.Load("../testdata/models/vit_tiny.safetensors", anyres.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	photo, err := imageprep.Load("../testdata/images/hills.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := imageprep.Prepare(photo, m.Info().Prep(imageprep.Options{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	var out anyres.Output
	if err := m.Forward(x, &out); err != nil {
		fmt.Println(err)
		return
	}
	best := 0
	for i, v := range out.Logits {
		if v > out.Logits[best] {
			best = i
		}
	}
	fmt.Printf("%dx%d photo, grid %v, %d tokens of %d, top class %d\n", x.H, x.W, out.Grid, len(out.Tokens)/m.Info().Width, m.Info().Width, best)
	// Output:
	// 333x500 photo, grid 21×32, 673 tokens of 60, top class 9
}
