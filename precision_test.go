package anyres

import (
	"errors"
	"strings"
	"testing"

	"github.com/anyres/anyres/nn"
)

// TestCheckPrecision: int8 or bf16 for a family that does not honour
// LoadOptions.Precision is refused naming the family, never run in
// float32 silently; float32 is always accepted, an unknown dtype never.
func TestCheckPrecision(t *testing.T) {
	f32only := nn.Family{Name: "f32only"}
	for _, d := range []string{"int8", "bf16"} {
		if err := checkPrecision(f32only, nn.Precision{DType: d}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "f32only") {
			t.Errorf("%s for a float32-only family: %v, want ErrConfig naming it", d, err)
		}
		if err := checkPrecision(nn.Family{Name: "low", LowPrecision: true}, nn.Precision{DType: d}); err != nil {
			t.Errorf("%s for a family that takes it: %v", d, err)
		}
	}
	if err := checkPrecision(f32only, nn.Precision{DType: "f32"}); err != nil {
		t.Errorf("f32: %v", err)
	}
	if err := checkPrecision(nn.Family{Name: "low", LowPrecision: true}, nn.Precision{DType: "int4"}); !errors.Is(err, ErrConfig) {
		t.Errorf("int4: %v, want ErrConfig", err)
	}
}
