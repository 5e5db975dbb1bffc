package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
)

// writeOldInt8 writes weights as an anyres before the LayerNorm rewrite
// quantized them: every quantizable 2-D weight per output row (I8 with
// F32 scales), the norms untouched, no smoothing factors.
func writeOldInt8(t *testing.T, weights, out string) {
	t.Helper()
	f, err := tensorfile.Open(weights)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tensors := map[string]tensorout.Tensor{}
	for _, name := range f.Names() {
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if quantizable(name, shape, f.DType(name)) {
			q, s := kernels.QuantizeWeights(v, shape[0], shape[1], shape[1])
			tensors[name], tensors[name+nn.ScaleSuffix] = tensorout.I8(shape, q), tensorout.F32([]int{shape[0]}, s)
			continue
		}
		tensors[name] = tensorout.F32(shape, v)
	}
	if err := tensorout.WriteSafetensorsFile(out, tensors, f.Metadata()); err != nil {
		t.Fatal(err)
	}
}

// TestOldInt8Checkpoint: an int8 file written before the LayerNorm
// rewrite (no smoothing factors) still loads in every family, at int8
// with its layers after a norm dequantized, rewritten and quantized
// again: within int8's goal (features cosine ≥ 0.999) of the float32
// model, as quantizing the float32 file at load is (or, where that is
// below the goal, as close as it).
func TestOldInt8Checkpoint(t *testing.T) {
	for _, name := range golden.Models(t) {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			weights, load, opts, imgs := calibrationModel(t, name)
			dst := t.TempDir()
			old := filepath.Join(dst, "model.safetensors")
			writeOldInt8(t, weights, old)
			oldLoad := old
			if load != weights {
				cfg, err := os.ReadFile(filepath.Join(load, "config.json"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dst, "config.json"), cfg, 0o644); err != nil {
					t.Fatal(err)
				}
				oldLoad = dst
			}
			ref, err := anyres.Load(load, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			opts.DType = nn.Int8
			atLoad, err := anyres.Load(load, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer atLoad.Close()
			q, err := anyres.Load(oldLoad, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			worst, worstAtLoad, between := 1.0, 1.0, 1.0
			for _, img := range imgs {
				var a, b, c anyres.Output
				for _, r := range []struct {
					m   anyres.Model
					out *anyres.Output
				}{{ref, &a}, {q, &b}, {atLoad, &c}} {
					if err := r.m.Forward(img, r.out); err != nil {
						t.Fatal(err)
					}
				}
				worst = min(worst, cos(a.Tokens, b.Tokens))
				worstAtLoad = min(worstAtLoad, cos(a.Tokens, c.Tokens))
				between = min(between, cos(b.Tokens, c.Tokens))
			}
			t.Logf("features cosine to float32: old int8 file at int8 %.6f, int8 at load %.6f (between them %.6f)", worst, worstAtLoad, between)
			// The goal, or int8 at load's own cosine where that is below it (a
			// post-norm model, nothing folded, at its 7-bit noise floor).
			if goal := min(0.999, worstAtLoad); worst < goal {
				t.Errorf("old int8 file: features cosine %.6f to float32 < %.6f", worst, goal)
			}
		})
	}
}
