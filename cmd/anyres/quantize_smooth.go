package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorfile"
)

// smoothedTensors loads the checkpoint in (a .safetensors file, with a
// timm config.json beside it if it has one) as an int8 model, as anyres
// would run it, and returns the float32 tensors that the model's
// LayerNorm rewrite (nn/smooth.go) changes: each norm's gain and bias
// divided by the factors s, the input columns of the layers reading it
// multiplied by them. Written into the checkpoint, they make the same
// float32 function, and an int8 load then finds nothing more to rewrite
// and packs the stored int8 values as they are. Tensors besides the
// model's (a test file's reference data) are left alone.
func smoothedTensors(in string, f *tensorfile.File) (map[string][]float32, error) {
	path := in
	if filepath.Base(in) == "model.safetensors" {
		if _, err := os.Stat(filepath.Join(filepath.Dir(in), "config.json")); err == nil {
			path = filepath.Dir(in)
		}
	}
	out := map[string][]float32{}
	get := func(name string) ([]float32, []int, error) {
		if v, ok := out[name]; ok {
			shape, err := f.Shape(name)
			return v, shape, err
		}
		v, shape, err := f.Float32(name)
		return append([]float32(nil), v...), shape, err
	}
	var rewriteErr error
	onSmooth := func(norm string, s []float64, layers []string) {
		if rewriteErr != nil {
			return
		}
		rewriteErr = smoothInto(out, get, norm, s, layers)
	}
	m, err := anyres.Load(path, anyres.Options{DType: "int8", OnSmooth: onSmooth, Ignore: func(string) bool { return true }})
	if err != nil {
		return nil, err
	}
	m.Close()
	return out, rewriteErr
}

// smoothInto applies one norm's factors to the tensors, into out.
func smoothInto(out map[string][]float32, get func(string) ([]float32, []int, error), norm string, s []float64, layers []string) error {
	d := len(s)
	for _, suffix := range []string{".weight", ".bias"} {
		v, _, err := get(norm + suffix)
		if err != nil {
			return err
		}
		if len(v) != d {
			return fmt.Errorf("%s%s has %d values for %d factors", norm, suffix, len(v), d)
		}
		for j := range v {
			if s[j] != 0 { // 0: a zero-gain channel, which keeps its β
				v[j] = float32(float64(v[j]) / s[j])
			}
		}
		out[norm+suffix] = v
	}
	for _, l := range layers {
		w, shape, err := get(l + ".weight")
		if err != nil {
			return err
		}
		if len(shape) < 2 || shape[1] != d {
			return fmt.Errorf("%s.weight has shape %v; %s has width %d", l, shape, norm, d)
		}
		in := len(w) / shape[0] // columns per output, k per channel
		k := in / d
		for i := range w {
			if sj := s[i%in/k]; sj != 0 {
				w[i] = float32(float64(w[i]) * sj)
			}
		}
		out[l+".weight"] = w
	}
	return nil
}
