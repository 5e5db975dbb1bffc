package anyres

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// checkPrecision refuses a dtype the picked family cannot run (or one
// that does not exist), so that a request for int8 or bf16 never runs in
// float32 silently.
func checkPrecision(fam nn.Family, p nn.Precision) error {
	dt, err := nn.ParseDType(p.DType)
	if err != nil {
		return err
	}
	if dt != nn.F32 && !fam.LowPrecision {
		return fmt.Errorf("%w: dtype %s: the %s family runs float32 only (int8 and bf16 run in: %v)", ErrConfig, dt, fam.Name, lowPrecisionFamilies())
	}
	return nil
}

func lowPrecisionFamilies() []string {
	var out []string
	for _, f := range nn.Families() {
		if f.LowPrecision {
			out = append(out, f.Name)
		}
	}
	return out
}
