package nn

import "errors"

// Errors that callers may test for with errors.Is; the messages that wrap
// them say what was wrong and what was expected.
var (
	// ErrImage: the image does not fit the model (channels, too small, pixel count).
	ErrImage = errors.New("bad image")
	// ErrTooManyTokens: a forward pass would exceed the token cap (Options.MaxTokens).
	ErrTooManyTokens = errors.New("too many tokens")
	// ErrWeight: a weight is missing, mis-shaped, unused, non-finite or unreadable.
	ErrWeight = errors.New("bad weight")
	// ErrConfig: the architecture description is invalid, absent or contradicts the weights.
	ErrConfig = errors.New("bad config")
	// ErrNilOutput: Forward was given a nil *Output to fill.
	ErrNilOutput = errors.New("Forward: the output is nil (pass a pointer to an Output, which is reused)")
	// ErrClosed: the model was closed.
	ErrClosed = errors.New("model is closed")
	// ErrNoHead: Output.HeadOnly was set for a model with no pooled
	// feature and no logits.
	ErrNoHead = errors.New("Output.HeadOnly: the model has no head (no pooled feature, no logits)")
)
