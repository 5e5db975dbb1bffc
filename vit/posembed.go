package vit

import (
	"errors"
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// exactTable adds a learned table at its training grid only (placeholder
// until posenc's resampling lands).
type exactTable struct {
	table       []float32
	tablePrefix int
	grid        posenc.Grid
}

var errNoResample = errors.New("resampling not available yet")

func newLearned(table []float32, tablePrefix int, g posenc.Grid, dim int) (posenc.Encoder, error) {
	return exactTable{table, tablePrefix, g}, nil
}

func (e exactTable) AddTo(x []float32, prefix int, g posenc.Grid, dim int) error {
	if err := posenc.CheckTokens(x, prefix, g, dim); err != nil {
		return err
	}
	if g != e.grid {
		return fmt.Errorf("grid %s vs trained %s: %w", g, e.grid, errNoResample)
	}
	start := (prefix - e.tablePrefix) * dim
	for i, v := range e.table {
		x[start+i] += v
	}
	return nil
}

func resizePatchKernel(kernel []float32, c Config, p [2]int) ([]float32, error) {
	return nil, errNoResample
}

func (ws *workspace) resizeImages() error { return errNoResample }
