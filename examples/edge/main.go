// Command edge classifies a photo with a Vision Transformer compiled into
// the binary: one static file to copy onto a board, no weight file to ship
// or keep in step. It prints the top-5 classes.
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' ./examples/edge
//	./edge photo.jpg
//
// model.safetensors is a tiny randomly initialised ViT (make it with
// go run gen.go); put a real checkpoint with a `config` in its place to
// classify for real (the binary grows by its size).
package main

import (
	_ "embed"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
)

// The weights live in the binary's read-only data: anyres.LoadBytes uses
// the float32 tensors in place, so they cost no heap and no file mapping.
//
//go:embed model.safetensors
var weights []byte

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: edge photo.jpg")
		os.Exit(2)
	}
	if err := classify(os.Stdout, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

// classify prints the top-5 classes of the photo at path to w.
func classify(w io.Writer, path string) error {
	m, err := anyres.LoadBytes(weights, anyres.Options{})
	if err != nil {
		return err
	}
	photo, err := imageprep.Load(path)
	if err != nil {
		return err
	}
	// The model's training size; any size works (the position table is
	// resampled), at a cost that grows with the pixel count.
	x, err := imageprep.Prepare(photo, imageprep.Options{Size: imageprep.Size{H: 224, W: 224}, Norm: imageprep.ImageNet})
	if err != nil {
		return err
	}
	var out anyres.Output
	if err := m.Forward(x, &out); err != nil {
		return err
	}
	if len(out.Logits) == 0 {
		return fmt.Errorf("the embedded model has no classifier head")
	}
	for _, c := range top(softmax(out.Logits), 5) {
		fmt.Fprintf(w, "class %d\t%.2f%%\n", c.index, 100*c.p)
	}
	return nil
}

type class struct {
	index int
	p     float64
}

// softmax turns logits into probabilities (in float64: a handful of values).
func softmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// top returns the k most probable classes, most probable first.
func top(p []float64, k int) []class {
	c := make([]class, len(p))
	for i, v := range p {
		c[i] = class{i, v}
	}
	sort.SliceStable(c, func(i, j int) bool { return c[i].p > c[j].p })
	return c[:min(k, len(c))]
}
