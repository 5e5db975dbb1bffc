package naflex

import "github.com/anyres/anyres/nn"

// Errors that callers may test for with errors.Is (package nn's, shared by
// every family).
var (
	ErrImage         = nn.ErrImage
	ErrTooManyTokens = nn.ErrTooManyTokens
	ErrWeight        = nn.ErrWeight
	ErrConfig        = nn.ErrConfig
)
