package anyres

import (
	"errors"
	"testing"

	"github.com/anyres/anyres/nn"
)

// TestCheckPrecision: f32, int8 and bf16 are accepted, an unknown dtype
// is a configuration error, never a silent float32 run.
func TestCheckPrecision(t *testing.T) {
	for _, d := range []string{"", "f32", "int8", "bf16"} {
		if err := checkPrecision(nn.Precision{DType: d}); err != nil {
			t.Errorf("%q: %v", d, err)
		}
	}
	for _, d := range []string{"int4", "fp16", "q8"} {
		if err := checkPrecision(nn.Precision{DType: d}); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", d, err)
		}
	}
}
