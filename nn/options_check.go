package nn

import (
	"fmt"
	"slices"
)

// Check refuses run options no model can honour: an unknown edge policy
// or a negative MaxTokens.
func (o RunOptions) Check() error {
	if o.Edge < EdgeDefault || o.Edge > EdgeResize {
		return fmt.Errorf("%w: unknown edge policy %d", ErrConfig, int(o.Edge))
	}
	if o.MaxTokens < 0 {
		return fmt.Errorf("%w: MaxTokens %d is negative", ErrConfig, o.MaxTokens)
	}
	return nil
}

// CheckEdges is Check for a family that runs only the edge policies in
// edges (EdgeDefault, its own rule, always runs); hint says what it does
// instead, for the error.
func (o RunOptions) CheckEdges(family, hint string, edges ...EdgePolicy) error {
	if err := o.Check(); err != nil {
		return err
	}
	if o.Edge != EdgeDefault && !slices.Contains(edges, o.Edge) {
		return fmt.Errorf("%w: edge policy %v is not supported by %s (%s)", ErrConfig, o.Edge, family, hint)
	}
	return nil
}

// CheckOwnPatch refuses a patch size other than the checkpoint's own, for
// a family that cannot resize its patch kernel; zero asks for its own.
func CheckOwnPatch(family string, asked, own [2]int) error {
	if asked != ([2]int{}) && asked != own {
		return fmt.Errorf("%w: %s runs at its own patch size %v only (asked for %v)", ErrConfig, family, own, asked)
	}
	return nil
}
