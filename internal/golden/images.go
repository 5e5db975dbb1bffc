package golden

import (
	"encoding/json"
	"testing"
)

// Image is one case of a model file that runs one image: the case's name
// (its input tensor is "in_"+Name) and the image's size.
type Image struct {
	Name string
	H, W int
}

// Images lists the cases of a model file that run one image (params with
// height and width), in file order, so a test picks its images from the
// file it reads instead of naming sizes of one generator run.
func (f *File) Images(tb testing.TB) []Image {
	tb.Helper()
	var out []Image
	seen := map[string]bool{}
	for _, c := range f.Cases {
		var p struct {
			H *int `json:"height"`
			W *int `json:"width"`
		}
		if json.Unmarshal(c.Params, &p) != nil || p.H == nil || p.W == nil || len(c.Inputs) != 1 || seen[c.Inputs[0]] {
			continue
		}
		seen[c.Inputs[0]] = true
		out = append(out, Image{Name: c.Inputs[0][len("in_"):], H: *p.H, W: *p.W})
	}
	if len(out) == 0 {
		tb.Fatal("golden: the file has no image cases")
	}
	return out
}

// Smallest returns the image case with the fewest pixels (the first of
// equals): the cheap one for -short runs.
func (f *File) Smallest(tb testing.TB) Image {
	tb.Helper()
	imgs := f.Images(tb)
	best := imgs[0]
	for _, im := range imgs[1:] {
		if im.H*im.W < best.H*best.W {
			best = im
		}
	}
	return best
}

// Largest returns the image case with the most pixels (the first of equals).
func (f *File) Largest(tb testing.TB) Image {
	tb.Helper()
	imgs := f.Images(tb)
	best := imgs[0]
	for _, im := range imgs[1:] {
		if im.H*im.W > best.H*best.W {
			best = im
		}
	}
	return best
}
