package vit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
)

// TestConfigContradictsFile: every tensor must be used, and every used one
// must fit, whichever way the config arrives (here: as Options.Config over
// a listed source, the path of `config` metadata, -config and inference).
func TestConfigContradictsFile(t *testing.T) {
	f := golden.Open(t, "vit_cls_learned.safetensors")
	cfg := configOf(t, f)
	src := sourceOf(t, f)
	if _, err := New(cfg, src, Options{}); err != nil {
		t.Fatalf("intact: %v", err)
	}
	shallow := cfg
	shallow.Depth = 0
	if _, err := New(shallow, src, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), `"blocks.0.`) {
		t.Errorf("depth 0 over %d blocks: %v", cfg.Depth, err)
	}
	fewer := cfg
	fewer.Depth--
	if _, err := New(fewer, src, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), "blocks."+strconv.Itoa(cfg.Depth-1)+".") {
		t.Errorf("one block fewer: %v", err)
	}
	wider := cfg
	wider.EmbedDim += wider.NumHeads
	if _, err := New(wider, src, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), "want") {
		t.Errorf("wider: %v", err)
	}
	noHead := cfg
	noHead.NumClasses = 0
	if _, err := New(noHead, src, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), `"head.`) {
		t.Errorf("no head over a file with one: %v", err)
	}
	extra := sourceOf(t, f)
	extra["blocks.0.ls1.gamma"] = Tensor{Data: make([]float32, cfg.EmbedDim), Shape: []int{cfg.EmbedDim}}
	if _, err := New(cfg, extra, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), `"blocks.0.ls1.gamma"`) {
		t.Errorf("an unused layer scale: %v", err)
	}
}

// TestNonFiniteWeights: a NaN or Inf in any weight is an error naming the
// tensor, unless allowed.
func TestNonFiniteWeights(t *testing.T) {
	f := golden.Open(t, "vit_cls_learned.safetensors")
	cfg := configOf(t, f)
	for _, name := range []string{"pos_embed", fmt.Sprintf("blocks.%d.attn.qkv.weight", f.Blocks("blocks.")-1), "head.bias"} {
		for _, v := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
			src := sourceOf(t, f)
			w := src[name]
			data := append([]float32(nil), w.Data...)
			data[len(data)/2] = v
			src[name] = Tensor{Data: data, Shape: w.Shape}
			if _, err := New(cfg, src, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "finite") {
				t.Errorf("%s = %v: %v", name, v, err)
			}
			if _, err := New(cfg, src, Options{AllowNonFinite: true}); err != nil {
				t.Errorf("%s = %v allowed: %v", name, v, err)
			}
		}
	}
}
