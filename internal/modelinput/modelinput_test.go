package modelinput

import (
	"errors"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

func TestTop(t *testing.T) {
	logits := []float32{0, float32(math.Log(3)), -100, float32(math.Log(3))}
	top, err := Top(logits, 10)
	if err != nil || len(top) != len(logits) {
		t.Fatalf("%d classes for k past the count, want %d (%v)", len(top), len(logits), err)
	}
	// Ties keep the lower index first; probabilities are the softmax.
	if top[0].Index != 1 || top[1].Index != 3 || top[2].Index != 0 || top[3].Index != 2 {
		t.Errorf("order %+v", top)
	}
	e := math.Exp(float64(logits[1]))
	if want := e / (1 + 2*e + math.Exp(-100)); math.Abs(top[0].Prob-want) > 1e-15 {
		t.Errorf("p = %g, want %g", top[0].Prob, want)
	}
	for _, k := range []int{0, -1} {
		if top, err := Top(logits, k); len(top) != 0 || err != nil {
			t.Errorf("k = %d: %v %v, want no classes", k, top, err)
		}
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		if _, err := Top([]float32{0, bad}, 1); err == nil || !strings.Contains(err.Error(), "logit 1 is") {
			t.Errorf("a %v logit: %v, want an error naming it", bad, err)
		}
	}
}

func TestPrepareLimits(t *testing.T) {
	m, err := anyres.Load(filepath.Join(golden.Dir(t), "..", "models", "vit_tiny.safetensors"), anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := m.Info().Patch
	photo := image.NewRGBA(image.Rect(0, 0, 10*p[1], 10*p[0]))
	o := Options{Norm: imageprep.ImageNet, MaxTokens: 50}
	if _, err := Prepare(m, photo, o); !errors.Is(err, nn.ErrTooManyTokens) {
		t.Errorf("100 patches under a cap of 50: %v, want ErrTooManyTokens", err)
	}
	o.Tokens = 49
	x, err := Prepare(m, photo, o)
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Grid(x.H, x.W); g.N() > 49 {
		t.Errorf("a budget of 49 tokens gave a %v grid", g)
	}
	o.Tokens, o.Size = 0, imageprep.Size{H: p[0] - 1, W: p[1]}
	if _, err := Prepare(m, photo, o); !errors.Is(err, nn.ErrImage) {
		t.Errorf("a size under one patch: %v, want ErrImage", err)
	}
}
