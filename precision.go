package anyres

import (
	"fmt"
	"strings"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
)

// checkPrecision refuses a dtype that does not exist, and ReduceRange
// without int8. Every family builds its Linear layers through nn.Linears,
// so every family runs int8 and bf16 (TestLowPrecisionEveryFamily checks
// each one).
func checkPrecision(p nn.Precision) error { return p.Check() }

// checkReduceRange refuses ReduceRange on a checkpoint whose int8 weights
// were stored in 8 bits (anyres quantize without -reduce-range): the
// stored values are the model, and narrowing them again would round twice.
func checkReduceRange(f *tensorfile.File, p nn.Precision) error {
	if !p.ReduceRange {
		return nil
	}
	for _, n := range f.Names() {
		if f.DType(n) != "I8" {
			continue
		}
		q, _, err := f.Int8(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		for _, v := range q {
			if v > kernels.NarrowQuantMax || v < -kernels.NarrowQuantMax {
				return fmt.Errorf("%w: reduce range with a checkpoint quantized to 8 bits (%s holds %d, beyond ±%d): quantize the float32 checkpoint with -reduce-range, or load this one without it",
					ErrConfig, n, v, kernels.NarrowQuantMax)
			}
		}
	}
	return nil
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
