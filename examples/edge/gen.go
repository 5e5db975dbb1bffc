//go:build ignore

// gen writes model.safetensors, the checkpoint the edge example embeds: the
// weights and config of the tiny timm ViT of the golden tests (2 blocks,
// width 60, 10 classes, randomly initialised by timm), without the golden
// inputs and outputs that share its file. About 0.5 MB.
//
//	go run gen.go
package main

import (
	"log"
	"strings"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

func main() {
	f, err := tensorfile.OpenRead("../../testdata/golden/vit_cls_learned.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	tensors := map[string]tensorout.Tensor{}
	for _, name := range f.Names() {
		if strings.HasPrefix(name, "in_") || strings.HasPrefix(name, "features_") || strings.HasPrefix(name, "logits_") {
			continue
		}
		v, shape, err := f.Float32(name)
		if err != nil {
			log.Fatal(err)
		}
		tensors[name] = tensorout.F32(shape, v)
	}
	meta := map[string]string{"config": f.Metadata()["config"], "source": "anyres testdata/golden/vit_cls_learned.safetensors (timm vit_tiny_patch16_224, embed_dim 60, depth 2, num_classes 10, random init)"}
	if err := tensorout.WriteSafetensorsFile("model.safetensors", tensors, meta); err != nil {
		log.Fatal(err)
	}
}
