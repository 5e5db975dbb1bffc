package vit

import (
	"fmt"

	"github.com/anyres/anyres/internal/tensorfile"
)

// The package's tests load golden files straight into the package (the
// front door, anyres.Load, is the public way in; it goes through the
// registry hook, loadFamily).

// loadPath opens a safetensors checkpoint with timm state_dict names. Its
// architecture comes from the file's `config` metadata. Close releases
// the file.
func loadPath(path string, opts Options) (*Model, error) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	m, err := loadFile(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// loadBytes builds a model from a safetensors file held in memory; data
// must not change while the model is used (F32 vectors are used in place).
func loadBytes(data []byte, opts Options) (*Model, error) {
	f, err := tensorfile.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	return loadFile(f, opts)
}

// loadFile builds a model from an open file, which the model then owns.
func loadFile(f *tensorfile.File, opts Options) (*Model, error) {
	raw, ok := f.Metadata()["config"]
	if !ok {
		return nil, fmt.Errorf("%w: the file has no `config` metadata", ErrConfig)
	}
	cfg, err := ParseConfig([]byte(raw))
	if err != nil {
		return nil, err
	}
	return build(cfg, f, opts, f)
}
