package naflex

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// Errors that callers may test for with errors.Is (package nn's, shared by
// every family).
var (
	ErrImage         = nn.ErrImage
	ErrTooManyTokens = nn.ErrTooManyTokens
	ErrWeight        = nn.ErrWeight
	ErrConfig        = nn.ErrConfig
)

func errPatchSize(p [2]int) error {
	return fmt.Errorf("%w: NaFlexVit runs at its own patch size only (asked for %v)", ErrConfig, p)
}
