package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/vit"
)

// RandomViT loads a ViT of the given config with random weights
// (vit.RandomWeights) through the front door, as a user loads a
// checkpoint: from a safetensors file (the config in its `config`
// metadata), so that the memory measured is a user's; where no temporary
// file can be written, from the bytes in memory (which the model then
// keeps). Once the file is written the random weights are returned to the
// OS and the process's resident high-water mark restarts (Linux), so a
// peak read after RandomViT is the load's, not the generator's.
func RandomViT(cfg vit.Config, opts anyres.Options) (anyres.Model, error) {
	js, err := cfg.JSON()
	if err != nil {
		return nil, err
	}
	src := vit.RandomWeights(cfg, 1)
	tensors := make(map[string]tensorout.Tensor, len(src))
	for name, t := range src {
		tensors[name] = tensorout.F32(t.Shape, t.Data)
	}
	meta := map[string]string{"config": string(js)}
	if dir, err := os.MkdirTemp("", "anyres-random-"); err == nil {
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "model.safetensors")
		if err := tensorout.WriteSafetensorsFile(path, tensors, meta); err == nil {
			clear(src)
			clear(tensors)
			debug.FreeOSMemory()
			resetPeakRSS()
			return anyres.Load(path, opts)
		}
	}
	var b bytes.Buffer
	if err := tensorout.WriteSafetensors(&b, tensors, meta); err != nil {
		return nil, err
	}
	return anyres.LoadBytes(b.Bytes(), opts)
}
