package bench

import (
	"bytes"
	"os"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/vit"
)

// randomViT loads a ViT of the given config with random weights
// (vit.RandomWeights) through the front door, as a user loads a
// checkpoint: from a safetensors file (the config in its `config`
// metadata), so that the memory measured is a user's, the mapped file's
// pages released after the load; where no temporary file can be written,
// from the bytes in memory (which the model then keeps).
func randomViT(cfg vit.Config, opts anyres.Options) (anyres.Model, error) {
	data, err := randomCheckpoint(cfg)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "anyres-random-*.safetensors")
	if err != nil {
		return anyres.LoadBytes(data, opts)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(data)
	if err := f.Close(); werr != nil || err != nil {
		return anyres.LoadBytes(data, opts)
	}
	data = nil
	return anyres.Load(f.Name(), opts)
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
