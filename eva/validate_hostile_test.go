package eva

import (
	"testing"

	"github.com/anyres/anyres/internal/familytest"
)

// TestValidateRefusesNonFiniteRope: a RoPE temperature below 1 (1e-300
// gives infinite frequencies, then NaN outputs) or a wild grid offset is
// refused by the config itself, whatever path built it.
func TestValidateRefusesNonFiniteRope(t *testing.T) {
	f, hub := familytest.Open(t, "eva02_rope_swiglu.safetensors")
	cfg, err := InferConfig(f, hub)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rope != "cat" {
		t.Fatalf("the reference is %q RoPE, want cat", cfg.Rope)
	}
	for _, c := range []func(*Config){
		func(c *Config) { c.RopeTemperature = 1e-300 },
		func(c *Config) { c.RopeTemperature = 0 },
		func(c *Config) { c.RopeGridOffset = 1e300 },
	} {
		bad := cfg
		c(&bad)
		if err := bad.Validate(); err == nil {
			t.Errorf("temperature %g, offset %g: accepted", bad.RopeTemperature, bad.RopeGridOffset)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the reference config: %v", err)
	}
}
