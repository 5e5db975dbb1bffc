package anyres

import (
	"fmt"
	"strings"

	"github.com/anyres/anyres/nn"
)

// checkPrecision refuses a dtype that does not exist. Every family builds
// its Linear layers through nn.Linears, so every family runs int8 and bf16
// (TestLowPrecisionEveryFamily checks each one).
func checkPrecision(p nn.Precision) error {
	_, err := nn.ParseDType(p.DType)
	return err
}

// checkKeepF32 refuses KeepF32 entries that would do nothing: an empty
// name, any name when the dtype is float32 anyway, or a name that matches
// no Linear weight of the checkpoint (a 2-D NAME.weight, or one under
// NAME. for a whole block), so a misspelt layer is not run quantized
// without a word.
func checkKeepF32(ck nn.Checkpoint, p nn.Precision) error {
	if len(p.KeepF32) == 0 {
		return nil
	}
	if dt, _ := nn.ParseDType(p.DType); dt == nn.F32 {
		return fmt.Errorf("%w: KeepF32 %q with dtype f32: every layer is float32 already (keep layers with int8 or bf16)", ErrConfig, p.KeepF32)
	}
	names := ck.Names()
	for _, k := range p.KeepF32 {
		if strings.TrimSpace(k) == "" || strings.HasSuffix(k, ".") {
			return fmt.Errorf("%w: KeepF32 %q: an empty layer name", ErrConfig, p.KeepF32)
		}
		found := false
		for _, n := range names {
			if strings.HasSuffix(n, ".weight") && (n == k+".weight" || strings.HasPrefix(n, k+".")) {
				if s, err := ck.Shape(n); err == nil && len(s) == 2 {
					found = true
					break
				}
			}
		}
		if !found {
			return fmt.Errorf("%w: KeepF32 %q names no Linear layer of the checkpoint (timm names such as blocks.11.mlp.fc2, blocks.11 or head)", ErrConfig, k)
		}
	}
	return nil
}
