package nn

import (
	"errors"
	"strings"
	"testing"
)

func TestRunOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		o     RunOptions
		edges []EdgePolicy
		want  string // "" for no error
	}{
		{RunOptions{}, nil, ""},
		{RunOptions{Edge: EdgeResize}, nil, ""},
		{RunOptions{Edge: EdgeResize + 1}, nil, "unknown edge policy"},
		{RunOptions{Edge: EdgeDefault - 1}, nil, "unknown edge policy"},
		{RunOptions{MaxTokens: -1}, nil, "negative"},
		{RunOptions{Edge: EdgePad}, []EdgePolicy{EdgeCrop, EdgePad}, ""},
		{RunOptions{}, []EdgePolicy{EdgeCrop}, ""},
		{RunOptions{Edge: EdgeResize}, []EdgePolicy{EdgeCrop, EdgePad}, "resize is not supported by Fam (hint)"},
		{RunOptions{Edge: EdgePad, MaxTokens: -2}, []EdgePolicy{EdgeCrop, EdgePad}, "negative"},
	} {
		var err error
		if tc.edges == nil {
			err = tc.o.Check()
		} else {
			err = tc.o.CheckEdges("Fam", "hint", tc.edges...)
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v %v: %v", tc.o, tc.edges, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v %v: got %v, want ErrConfig with %q", tc.o, tc.edges, err, tc.want)
		}
	}
	if err := CheckOwnPatch("Fam", [2]int{}, [2]int{16, 16}); err != nil {
		t.Error(err)
	}
	if err := CheckOwnPatch("Fam", [2]int{16, 16}, [2]int{16, 16}); err != nil {
		t.Error(err)
	}
	if err := CheckOwnPatch("Fam", [2]int{14, 14}, [2]int{16, 16}); err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "[14 14]") {
		t.Errorf("other patch size: %v", err)
	}
}
