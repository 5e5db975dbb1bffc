package main

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorfile"
)

// TestEmbeddedModelMatchesTimm: the embedded checkpoint is the golden tiny
// ViT: on the golden input it gives the logits timm computed.
func TestEmbeddedModelMatchesTimm(t *testing.T) {
	m, err := anyres.LoadBytes(weights, anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := tensorfile.OpenRead("../../testdata/golden/vit_cls_learned.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// The golden file is the embedded model's reference only while it holds
	// the embedded weights (gen.go copies them from it); another generator
	// run's file holds others.
	e, err := tensorfile.Parse(weights)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range e.Names() {
		a, _, err1 := e.Float32(name)
		b, _, err2 := g.Float32(name)
		if err1 != nil || err2 != nil || !slices.Equal(a, b) {
			t.Skipf("the golden file's %s is not the embedded one: rerun go generate to embed its weights", name)
		}
	}
	// The first image case of the file.
	var cases []struct {
		Params          struct{ Height, Width int }
		Inputs, Outputs []string
	}
	if err := json.Unmarshal([]byte(g.Metadata()["cases"]), &cases); err != nil || len(cases) == 0 || len(cases[0].Outputs) < 2 {
		t.Fatalf("golden cases: %v", err)
	}
	c := cases[0]
	in, _, err := g.Float32(c.Inputs[0])
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := g.Float32(c.Outputs[1])
	if err != nil {
		t.Fatal(err)
	}
	var out anyres.Output
	if err := m.Forward(anyres.Image{C: 3, H: c.Params.Height, W: c.Params.Width, Pix: in}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Logits) != len(want) {
		t.Fatalf("%d logits, want %d", len(out.Logits), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(out.Logits[i] - want[i])); d > 1e-4 {
			t.Errorf("logit %d = %v, timm %v", i, out.Logits[i], want[i])
		}
	}
}

// TestClassifyPrintsTopFive runs the example on the repository's photo:
// five lines, classes distinct, probabilities falling.
func TestClassifyPrintsTopFive(t *testing.T) {
	var buf bytes.Buffer
	if err := classify(&buf, "../../testdata/images/hills.jpg"); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("printed %d lines, want 5:\n%s", len(lines), got)
	}
	line := regexp.MustCompile(`^class (\d+)\t(\d+\.\d\d)%$`)
	seen, last := map[string]bool{}, 101.0
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not `class N<tab>P%%`", l)
		}
		p, _ := strconv.ParseFloat(m[2], 64)
		if seen[m[1]] || p > last {
			t.Errorf("classes repeat or probabilities rise:\n%s", got)
		}
		seen[m[1]], last = true, p
	}
}

func TestTopAndSoftmax(t *testing.T) {
	p := softmax([]float32{0, 2, 1, -1000})
	if p[3] != 0 || p[1] <= p[2] || p[2] <= p[0] {
		t.Errorf("softmax %v", p)
	}
	c := top(p, 5)
	if len(c) != 4 || c[0].index != 1 || c[1].index != 2 || c[2].index != 0 || c[3].index != 3 {
		t.Errorf("top %v", c)
	}
}
