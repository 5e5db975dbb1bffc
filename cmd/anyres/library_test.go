package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
)

// TestRunMatchesLibrary: for every testdata/hub folder, `anyres run` and
// the library path a Go program takes (anyres.Load, imageprep.Prepare with
// the model's Info.Prep, Forward) give bit-identical outputs, at a given
// size and under a token budget (the model's own budget rule): the command
// asks the model how to prepare its input instead of deciding it itself.
func TestRunMatchesLibrary(t *testing.T) {
	entries, err := readHubDir()
	if err != nil {
		t.Fatal(err)
	}
	photo, err := imageprep.Load(hillsJPG)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range entries {
		dir := filepath.Join(hubDir, name)
		m, err := anyres.Load(dir, anyres.Options{Edge: nn.EdgeCrop})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A budget of about a 64×96 image's patches, whatever the patch.
		p := m.Info().Patch
		tokens := max(1, 64*96/(p[0]*p[1]))
		for _, c := range []struct {
			args []string
			o    imageprep.Options
		}{
			{[]string{"-size", "64x96"}, imageprep.Options{Size: imageprep.Size{H: 64, W: 96}}},
			{[]string{"-tokens", strconv.Itoa(tokens)}, imageprep.Options{Tokens: tokens}},
		} {
			out := filepath.Join(t.TempDir(), "o.safetensors")
			args := append([]string{"-weights", dir, "-image", hillsJPG, "-edge", "crop", "-out", out}, c.args...)
			if _, err := runCaptured(t, args...); err != nil {
				t.Errorf("%s %v: %v", name, c.args, err)
				continue
			}
			info := m.Info()
			if info.Input.NormFrom == "" || info.Input.Norm.Validate() != nil {
				t.Errorf("%s: Info.Input.Norm %v from %q: the front door set no normalisation", name, info.Input.Norm, info.Input.NormFrom)
			}
			x, err := imageprep.Prepare(photo, info.Prep(c.o))
			if err != nil {
				t.Fatalf("%s %v: %v", name, c.args, err)
			}
			var lib anyres.Output
			err = m.Forward(x, &lib)
			if err != nil {
				t.Fatalf("%s %v: %v", name, c.args, err)
			}
			f, err := tensorfile.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []struct {
				tensor string
				lib    []float32
			}{{"features", lib.Tokens}, {"pooled", lib.Pooled}, {"logits", lib.Logits}} {
				got, _, err := f.Float32(o.tensor)
				if err != nil && len(o.lib) > 0 {
					t.Errorf("%s %v: %s: %v", name, c.args, o.tensor, err)
					continue
				}
				if !slices.Equal(got, o.lib) {
					t.Errorf("%s %v: the command's %s (%d values) differ from the library's (%d values)", name, c.args, o.tensor, len(got), len(o.lib))
				}
			}
			f.Close()
		}
		m.Close()
	}
}

// readHubDir lists the model folders of testdata/hub; none is an error.
func readHubDir() ([]string, error) {
	entries, err := os.ReadDir(hubDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, errors.New("testdata/hub holds no model folder")
	}
	return names, nil
}
