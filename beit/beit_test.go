package beit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

const goldenFile = "beit_relpos.safetensors"

func load(t testing.TB, ck nn.Checkpoint, hub *nn.HubConfig, threads int) *Model {
	t.Helper()
	m, err := loadFamily(ck, hub, familytest.Options(threads))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.(*Model)
}

// TestGolden: every case (each a model timm re-created at that size with
// its tables resized by the checkpoint filter) from one loaded model, at
// every kernel level.
func TestGolden(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	m := load(t, f, hub, 0)
	cases := familytest.Cases(t, f)
	familytest.PerLevel(t, func(t *testing.T) { familytest.Golden(t, cases, m) })
}

// TestPacking: images of different sizes packed together, each with the
// bias tables of its own grid, give what they give alone.
func TestPacking(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	m := load(t, f, hub, 2)
	var imgs []nn.Image
	for _, c := range familytest.Cases(t, f) {
		imgs = append(imgs, c.Image)
	}
	familytest.PerLevel(t, func(t *testing.T) { familytest.Packing(t, m, imgs) })
}

// TestThreads: bit-identical results for any worker count.
func TestThreads(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cases := familytest.Cases(t, f)
	img := cases[len(cases)-1].Image // off the training grid (the first case's)
	familytest.PerLevel(t, func(t *testing.T) {
		familytest.Threads(t, func(n int) nn.Net { return load(t, f, hub, n) }, img)
	})
}

// TestNoAllocs: a warm forward pass allocates nothing (the resized tables
// are cached per grid).
func TestNoAllocs(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	m := load(t, f, hub, 2)
	cases := familytest.Cases(t, f)
	familytest.NoAllocs(t, m, cases[len(cases)-1].Image) // off the training grid
}

// memCheckpoint is a checkpoint built in memory from the golden weights.
type memCheckpoint struct{ nn.MapSource }

func (c memCheckpoint) Shape(name string) ([]int, error) {
	_, s, err := c.Float32(name)
	return s, err
}
func (memCheckpoint) Metadata() map[string]string { return nil }

func weightsOf(t *testing.T, f *golden.File) memCheckpoint {
	src := nn.MapSource{}
	for _, n := range f.Names() {
		if !golden.NotWeight(n) {
			v, s := f.F32(t, n)
			src[n] = nn.Tensor{Data: slices.Clone(v), Shape: s}
		}
	}
	return memCheckpoint{src}
}

// TestWeightErrors: missing, mis-shaped and unknown tensors are errors
// that name them.
func TestWeightErrors(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	// Shapes as the file has them.
	depth := f.Blocks("blocks.")
	table := fmt.Sprintf("blocks.%d.attn.relative_position_bias_table", depth-1) // the last block's
	ts, err := f.Shape(table)
	if err != nil {
		t.Fatal(err)
	}
	wrong := []int{ts[0] + 1, ts[1]}
	qs, err := f.Shape("blocks.0.attn.q_bias")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		change func(w nn.MapSource)
		want   string
	}{
		{"missing table", func(w nn.MapSource) { delete(w, table) }, f.Missing(t, table) + " is missing"},
		{"missing gamma", func(w nn.MapSource) { delete(w, "blocks.0.gamma_2") }, f.Missing(t, "blocks.0.gamma_2") + " is missing"},
		{"missing q bias", func(w nn.MapSource) { delete(w, "blocks.0.attn.q_bias") }, f.Missing(t, "blocks.0.attn.q_bias") + " is missing"},
		{"table shape", func(w nn.MapSource) {
			w[table] = nn.Tensor{Data: make([]float32, nn.Product(wrong)), Shape: wrong}
		}, fmt.Sprintf("%q has shape %v, want %v", table, wrong, ts)},
		{"unknown", func(w nn.MapSource) {
			w["blocks.0.attn.k_bias"] = nn.Tensor{Data: make([]float32, qs[0]), Shape: qs}
		}, `"blocks.0.attn.k_bias"`},
	} {
		if strings.Contains(c.what, "table") && depth < 2 {
			// The only table tells the training size, or (missing) that
			// there is no relative bias: nothing contradicts it.
			t.Logf("%s: one block, no other table to contradict", c.what)
			continue
		}
		ck := weightsOf(t, f)
		c.change(ck.MapSource)
		_, err := loadFamily(ck, hub, nn.LoadOptions{})
		if !errors.Is(err, nn.ErrWeight) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %s", c.what, err, c.want)
		}
	}
	// Stored index buffers are dropped, as timm's checkpoint filter does.
	ck := weightsOf(t, f)
	ck.MapSource["blocks.0.attn.relative_position_index"] = nn.Tensor{Data: make([]float32, 17*17), Shape: []int{17, 17}}
	if _, err := loadFamily(ck, hub, nn.LoadOptions{}); err != nil {
		t.Errorf("with a stored relative_position_index: %v", err)
	}
	// A table that fits no training size is a config error.
	ck = weightsOf(t, f)
	for _, n := range ck.Names() {
		if strings.HasSuffix(n, "relative_position_bias_table") {
			ck.MapSource[n] = nn.Tensor{Data: make([]float32, 50*3), Shape: []int{50, 3}}
		}
	}
	if _, err := loadFamily(ck, hub, nn.LoadOptions{}); !errors.Is(err, nn.ErrConfig) {
		t.Errorf("a 50-row table: got %v", err)
	}
}

// TestClaims: BEiT names, and BEiT's tables without a name.
func TestClaims(t *testing.T) {
	f, _ := familytest.Open(t, goldenFile)
	for arch, want := range map[string]bool{
		"beit_base_patch16_224":    true,
		"beitv2_large_patch16_224": true,
		"vit_base_patch16_224":     false,
		"eva02_tiny_patch14_224":   false,
	} {
		if got := claims(arch, f) > 0; got != want {
			t.Errorf("claims(%q) = %v, want %v", arch, got, want)
		}
	}
	if claims("", f) == 0 {
		t.Error("a checkpoint with relative bias tables and no name is not claimed")
	}
}
