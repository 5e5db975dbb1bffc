package bench

import (
	"bytes"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/vit"
)

// randomViT loads a ViT of the given config with random weights
// (vit.RandomWeights) through the front door, as a user loads a
// checkpoint: the weights are written to a safetensors file in memory with
// the config in its `config` metadata.
func randomViT(cfg vit.Config, opts anyres.Options) (anyres.Model, error) {
	data, err := randomCheckpoint(cfg)
	if err != nil {
		return nil, err
	}
	return anyres.LoadBytes(data, opts)
}

// randomCheckpoint is a safetensors file of random weights for cfg.
func randomCheckpoint(cfg vit.Config) ([]byte, error) {
	js, err := cfg.JSON()
	if err != nil {
		return nil, err
	}
	src := vit.RandomWeights(cfg, 1)
	tensors := make(map[string]tensorout.Tensor, len(src))
	for name, t := range src {
		tensors[name] = tensorout.F32(t.Shape, t.Data)
	}
	var b bytes.Buffer
	if err := tensorout.WriteSafetensors(&b, tensors, map[string]string{"config": string(js)}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// RandomViT is randomViT for the command (anyres bench-serve's default
// model).
func RandomViT(cfg vit.Config, opts anyres.Options) (anyres.Model, error) {
	return randomViT(cfg, opts)
}
