package swin

import "github.com/anyres/anyres/nn"

// Errors that callers may test for with errors.Is (the same values for
// every family, from package nn); the messages that wrap them say what was
// wrong and what was expected.
var (
	// ErrImage: the image does not fit the model (channels, size, pixel count).
	ErrImage = nn.ErrImage
	// ErrTooManyTokens: the images would exceed anyres.Options.MaxTokens patches.
	ErrTooManyTokens = nn.ErrTooManyTokens
	// ErrWeight: a weight is missing, mis-shaped, unused, non-finite or unreadable.
	ErrWeight = nn.ErrWeight
	// ErrConfig: the architecture description is invalid, absent or contradicts the weights.
	ErrConfig = nn.ErrConfig
	// ErrClosed: the model was closed.
	ErrClosed = nn.ErrClosed
)
