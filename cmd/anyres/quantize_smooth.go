package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

// hubConfig returns the config.json beside in when in is a hub folder's
// model.safetensors (nil when there is none).
func hubConfig(in string) ([]byte, error) {
	if filepath.Base(in) != "model.safetensors" {
		return nil, nil
	}
	b, err := tensorfile.ReadFileLimit(filepath.Join(filepath.Dir(in), "config.json"), tensorfile.MaxConfigBytes, "config file")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// smoothedTensors loads the checkpoint held in data (with its hub
// config, or nil) as an int8 model, as anyres would run it, and returns
// the float32 tensors that the model's LayerNorm rewrite (nn/smooth.go)
// changes: each norm's gain and bias divided by the factors s, the input
// columns of the layers reading it multiplied by them. Written into the
// checkpoint, they make the same float32 function, and an int8 load then
// finds nothing more to rewrite and packs the stored int8 values as they
// are. With reduceRange the model quantizes its weights to 7 bits, as
// the factors must see them (they are sized on the folded int8 weights).
// Tensors besides the model's (a test file's reference data) are left
// alone.
func smoothedTensors(data, config []byte, reduceRange bool) (map[string][]float32, error) {
	f, err := tensorfile.Parse(data)
	if err != nil {
		return nil, err
	}
	out := map[string][]float32{}
	get := func(name string) ([]float32, []int, error) {
		shape, err := f.Shape(name)
		if err != nil {
			return nil, nil, err
		}
		if v, ok := out[name]; ok {
			return v, shape, nil
		}
		v, _, err := f.Float32(name)
		return append([]float32(nil), v...), shape, err
	}
	var rewriteErr error
	onSmooth := func(norm string, s []float64, layers []string) {
		if rewriteErr == nil {
			rewriteErr = smoothInto(out, get, norm, s, layers)
		}
	}
	m, err := anyres.LoadBytes(data, anyres.Options{Config: config, DType: nn.Int8, ReduceRange: reduceRange, OnSmooth: onSmooth, Ignore: func(string) bool { return true }})
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
			v[j] = float32(float64(v[j]) / s[j])
		}
		out[norm+suffix] = v
	}
	applied := make([]float32, d)
	for j, v := range s {
		applied[j] = float32(v)
	}
	out[norm+nn.SmoothedSuffix] = applied
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
			w[i] = float32(float64(w[i]) * s[i%in/k])
		}
		out[l+".weight"] = w
	}
	return nil
}

// calibrationTokens is the patch-token budget calibration photos are
// resized to (their aspect ratio kept): 256 is 256² at patch 16.
const calibrationTokens = 256

// calibrate runs the float32 model in data over the images of dir (photos
// any imageprep decodes, or normalised C×H×W .npy tensors) and returns
// the ranges nn.Calibration measures, as tensors NAME+nn.RangeSuffix.
// Bad input is an error naming the file: a photo that does not decode, a
// tensor of the wrong shape or with a non-finite value, an image that
// makes an activation non-finite; and a folder with no usable image.
func calibrate(data, config []byte, dir string) (map[string][]float32, int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("-calibrate: %w", err)
	}
	cal := nn.NewCalibration()
	m, err := anyres.LoadBytes(data, anyres.Options{Config: config, Calibration: cal, Threads: 1, Ignore: func(string) bool { return true }})
	if err != nil {
		return nil, 0, fmt.Errorf("-calibrate: loading the model: %w", err)
	}
	defer m.Close()
	info := m.Info()
	var names []string
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.Mode().IsRegular() { // links followed
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	used := 0
	for _, name := range names {
		path := filepath.Join(dir, name)
		var x imageprep.Image
		switch strings.ToLower(filepath.Ext(name)) {
		case ".npy":
			if x, err = readInput(path); err != nil {
				return nil, 0, err
			}
			if x.C != info.Channels {
				return nil, 0, fmt.Errorf("%s: %d channels; the model takes %d", path, x.C, info.Channels)
			}
			for i, v := range x.Pix {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, 0, fmt.Errorf("%s: value %d is %g; calibration tensors must be finite", path, i, v)
				}
			}
		case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff":
			photo, err := imageprep.Load(path)
			if err != nil {
				return nil, 0, err
			}
			// Sized and normalised as the model says (Info.Input), as `anyres run` does.
			if x, err = imageprep.Prepare(photo, info.Prep(imageprep.Options{Tokens: calibrationTokens})); err != nil {
				return nil, 0, fmt.Errorf("%s: %w", path, err)
			}
		default:
			continue // not an image: READMEs and the like
		}
		var o anyres.Output
		if err := m.Forward(x, &o); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		if n := cal.NonFinite(); n != "" {
			return nil, 0, fmt.Errorf("%s: the model's activations are not finite on it (LayerNorm %s)", path, n)
		}
		used++
	}
	if used == 0 {
		return nil, 0, fmt.Errorf("-calibrate %s: no usable image (photos or .npy tensors)", dir)
	}
	out := map[string][]float32{}
	for n, r := range cal.Ranges() {
		out[n+nn.RangeSuffix] = r
	}
	return out, used, nil
}

// withTensors is the safetensors file data with the tensors add added
// (float32), for loading.
func withTensors(data []byte, add map[string][]float32) ([]byte, error) {
	f, err := tensorfile.Parse(data)
	if err != nil {
		return nil, err
	}
	raw, err := rawTensors(data)
	if err != nil {
		return nil, err
	}
	for n, v := range add {
		raw[n] = tensorout.F32([]int{len(v)}, v)
	}
	var buf bytes.Buffer
	if err := tensorout.WriteSafetensors(&buf, raw, f.Metadata()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
