package main

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// resamplePosTable resamples the grid rows of a learned position table
// (old.N() rows of dim) to the new grid with the named method.
func resamplePosTable(rows []float32, dim int, old, new posenc.Grid, method string, antialias bool) ([]float32, error) {
	return nil, fmt.Errorf("resampling %v to %v (%s): not available yet", old, new, method)
}

// resizePatchKernel resizes a patch-embedding kernel (outCh×inCh×old) to
// outCh×inCh×new by FlexiViT's pseudo-inverse resize.
func resizePatchKernel(kernel []float32, outCh, inCh int, old, new [2]int, method string, antialias bool) ([]float32, error) {
	return nil, fmt.Errorf("resizing the patch kernel %v to %v: not available yet", old, new)
}
