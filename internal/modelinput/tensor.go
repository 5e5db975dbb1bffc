package modelinput

import (
	"fmt"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorfile"
)

// Tensor is a model input given as a normalised float32 tensor (an .npy
// file or request body), run as it is: C×H×W, or 1×C×H×W with the batch of
// one dropped. Every value must be finite: one NaN makes every output NaN.
func Tensor(v []float32, shape []int) (imageprep.Image, error) {
	if len(shape) == 4 && shape[0] == 1 {
		shape = shape[1:]
	}
	if len(shape) != 3 {
		return imageprep.Image{}, fmt.Errorf("shape %v: want a normalised float32 C×H×W or 1×C×H×W image (NCHW)", shape)
	}
	if i := tensorfile.FirstNonFinite(v); i >= 0 {
		return imageprep.Image{}, fmt.Errorf("element %d of %d is %v: want finite values (normalised pixels)", i, len(v), v[i])
	}
	return imageprep.Image{C: shape[0], H: shape[1], W: shape[2], Pix: v}, nil
}
