package kernels

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLevel(t *testing.T) {
	for _, name := range []string{"generic", "avx2", "AVX512", " neon ", "amx"} {
		l, err := ParseLevel(name)
		require.NoError(t, err, "ParseLevel(%q)", name)
		assert.True(t, strings.EqualFold(l.String(), strings.TrimSpace(name)), "ParseLevel(%q) = %v", name, l)
	}
	_, err := ParseLevel("sse9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want one of", "the error should list the levels")
}

func TestAvailableAlwaysHasGeneric(t *testing.T) {
	avail := Available()
	require.NotEmpty(t, avail)
	assert.Equal(t, Generic, avail[0], "Available() = %v, want generic first", avail)
	assert.NoError(t, CheckLevel(Generic))
}

// TestUnavailableLevelNamesWhatIsMissing checks that every level this
// machine cannot run is refused with a reason.
func TestUnavailableLevelNamesWhatIsMissing(t *testing.T) {
	can := map[Level]bool{}
	for _, l := range Available() {
		can[l] = true
	}
	for _, l := range []Level{AVX2, AVX512, NEON, AMX} {
		err := CheckLevel(l)
		if can[l] {
			if err != nil {
				t.Errorf("CheckLevel(%v) = %v for an available level", l, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckLevel(%v) = nil for an unavailable level", l)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "lacks") && !strings.Contains(msg, "not compiled") {
			t.Errorf("CheckLevel(%v) = %q: does not say what is missing", l, msg)
		}
	}
}

func TestSetLevelSwitchesAndRestores(t *testing.T) {
	before := Active()
	for _, l := range Levels() {
		restore, err := SetLevel(l)
		require.NoError(t, err)
		assert.Equal(t, l, Active(), "after SetLevel(%v)", l)
		for name, got := range Info().Families {
			if impl, _ := ParseLevel(got); !includes(l, impl) {
				t.Errorf("family %s runs %s under level %s", name, got, l)
			}
		}
		restore()
	}
	assert.Equal(t, before, Active(), "after restore")
}

// TestEnvForcingUnavailableLevelFails runs this test binary again with
// ANYRES_KERNELS set to a level the machine lacks (and to an unknown name):
// the process must start (no panic in package init, which no importing
// program could report), EnvErr must name the setting, and the kernels must
// run at the generic level meanwhile.
func TestEnvForcingUnavailableLevelFails(t *testing.T) {
	if os.Getenv("ANYRES_KERNELS_CHILD") == "1" {
		if err := EnvErr(); err != nil {
			fmt.Printf("ENVERR %v\nACTIVE %v\n", err, Active())
		}
		return
	}
	require.NoError(t, EnvErr(), "the parent runs with a valid %s", EnvVar)
	can := map[Level]bool{}
	for _, l := range Available() {
		can[l] = true
	}
	var missing []Level
	for _, l := range []Level{AVX2, AVX512, NEON, AMX} {
		if !can[l] {
			missing = append(missing, l)
		}
	}
	missing = append(missing, Level(-1)) // an unknown name, below
	name := func(l Level) string {
		if l < 0 {
			return "sse9"
		}
		return l.String()
	}
	for _, l := range missing {
		_, _, err := levelFromEnv(name(l))
		if err == nil || !strings.Contains(err.Error(), EnvVar+"="+name(l)) {
			t.Errorf("levelFromEnv(%q) = %v, want an error naming the setting", name(l), err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	for _, l := range missing {
		name := name(l)
		cmd := exec.Command(exe, "-test.run=^TestEnvForcingUnavailableLevelFails$")
		cmd.Env = append(os.Environ(), EnvVar+"="+name, "ANYRES_KERNELS_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			if _, exited := err.(*exec.ExitError); !exited {
				t.Skipf("cannot re-run the test binary here (emulator or sandbox): %v", err)
			}
			t.Errorf("%s=%s: the process failed (a panic in init?), want it to start and report:\n%s", EnvVar, name, out)
			continue
		}
		if !strings.Contains(string(out), "ENVERR") || !strings.Contains(string(out), EnvVar+"="+name) {
			t.Errorf("%s=%s: EnvErr does not name the setting:\n%s", EnvVar, name, out)
		}
		if !strings.Contains(string(out), "ACTIVE generic") {
			t.Errorf("%s=%s: kernels do not run at the generic level:\n%s", EnvVar, name, out)
		}
	}
}
