package swin

import "errors"

// Errors that callers may test for with errors.Is; the messages that wrap
// them say what was wrong and what was expected.
var (
	// ErrImage: the image does not fit the model (channels, size, pixel count).
	ErrImage = errors.New("swin: bad image")
	// ErrTooManyTokens: the image would exceed Options.MaxTokens patches.
	ErrTooManyTokens = errors.New("swin: too many tokens")
	// ErrWeight: a weight is missing, mis-shaped or unreadable.
	ErrWeight = errors.New("swin: bad weight")
	// ErrConfig: the architecture description is invalid or absent.
	ErrConfig = errors.New("swin: bad config")
)
