package vit

import "errors"

// Errors that callers may test for with errors.Is; the messages that wrap
// them say what was wrong and what was expected.
var (
	// ErrImage: the image does not fit the model (channels, too small, pixel count).
	ErrImage = errors.New("vit: bad image")
	// ErrTooManyTokens: a forward pass would exceed Options.MaxTokens.
	ErrTooManyTokens = errors.New("vit: too many tokens")
	// ErrWeight: a weight is missing, mis-shaped or unreadable.
	ErrWeight = errors.New("vit: bad weight")
	// ErrConfig: the architecture description is invalid or absent.
	ErrConfig = errors.New("vit: bad config")
)
