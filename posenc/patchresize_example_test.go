package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// FlexiViT: run a model trained with 16×16 patches at 8×8 patches (four
// times the tokens, finer detail) by resizing its patch-embedding kernel so
// that a resized patch still gives the same token.
func ExampleResizePatchEmbed() {
	const outCh, inCh = 768, 3
	kernel := make([]float32, outCh*inCh*16*16) // patch_embed.proj.weight
	small, err := posenc.ResizePatchEmbed(kernel, outCh, inCh, [2]int{16, 16}, [2]int{8, 8}, posenc.DefaultResampleOptions())
	if err != nil {
		panic(err)
	}
	fmt.Println(len(small) / (outCh * inCh))
	// Output: 64
}
