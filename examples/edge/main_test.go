package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/vit"
)

// TestClassifyPrintsTopFive runs the example on the repository's photo and
// checks its five lines against the model loaded from the golden file it
// was generated from (the embedded copy must be the same model).
func TestClassifyPrintsTopFive(t *testing.T) {
	const photo = "../../testdata/images/hills.jpg"
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	err = classify(photo)
	os.Stdout = stdout
	w.Close()
	got, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile("../../testdata/golden/vit_cls_learned.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	m, err := vit.LoadBytes(data, vit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageprep.Load(photo)
	if err != nil {
		t.Fatal(err)
	}
	x, err := imageprep.Prepare(img, imageprep.Options{Size: imageprep.Size{H: 224, W: 224}, Norm: imageprep.ImageNet})
	if err != nil {
		t.Fatal(err)
	}
	var out vit.Output
	if err := m.Forward(vit.Image{C: x.C, H: x.H, W: x.W, Pix: x.Data}, &out); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for _, c := range top(softmax(out.Logits), 5) {
		want.WriteString(formatClass(c) + "\n")
	}
	if string(got) != want.String() {
		t.Errorf("printed\n%s\nwant\n%s", got, want.String())
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
