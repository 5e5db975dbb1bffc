package kernels

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// Level names one implementation tier of the kernels.
type Level int

// The kernel levels. On amd64 they are ordered generic < avx2 < avx512 <
// amx; on arm64, generic < neon.
//
// AMX is AVX-512 plus Intel's tile matrix unit (AMX-TILE, AMX-INT8,
// AMX-BF16): only the int8 and bfloat16 products (GemmQuant, GemmBF16)
// have AMX kernels, every other family runs its AVX-512 code at this
// level. It is a level of its own, rather than a feature the avx512 level
// picks up, so that ANYRES_KERNELS=avx512 turns the tile unit off and
// tests and benchmarks can run the AVX-512 and AMX kernels side by side.
// Besides the CPUID bits it needs the OS: XCR0 must enable the tile state
// and Linux must grant the process tile data (arch_prctl
// ARCH_REQ_XCOMP_PERM, requested once when the levels are first listed).
const (
	Generic Level = iota // pure Go, every platform
	AVX2                 // AVX2 + FMA3
	AVX512               // AVX-512 F, BW, VL, DQ (uses all 32 zmm registers)
	NEON                 // arm64 Advanced SIMD
	AMX                  // AVX-512 + AMX tiles (int8 and bf16 products)
)

// EnvVar is the environment variable that lowers the kernel level for the
// whole process.
const EnvVar = "ANYRES_KERNELS"

var levelNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512", NEON: "neon", AMX: "amx"}

// String returns the level's name as ANYRES_KERNELS spells it.
func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel turns a level name (as ANYRES_KERNELS takes it) into a Level.
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return Level(l), nil
		}
	}
	return 0, fmt.Errorf("unknown kernel level %q (want one of %s)", s, strings.Join(levelNames[:], ", "))
}

// includes reports whether a kernel written for impl may run when the cap is
// cap: the same level, generic, AVX2 under an AVX-512 cap, AVX-512 or AVX2
// under an AMX cap.
func includes(cap, impl Level) bool {
	switch {
	case impl == Generic || impl == cap:
		return true
	case cap == AVX512:
		return impl == AVX2
	case cap == AMX:
		return impl == AVX512 || impl == AVX2
	}
	return false
}

// requiredFeatures lists, per level, the CPU features its kernels use.
var requiredFeatures = map[Level][]cpuid.FeatureID{
	AVX2:   {cpuid.AVX, cpuid.AVX2, cpuid.FMA3},
	AVX512: {cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ},
	NEON:   {cpuid.ASIMD},
	// The AMX level's bfloat16 path rounds activations with
	// VCVTNEPS2BF16 (AVX512-BF16), which every AMX CPU has.
	AMX: {cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ,
		cpuid.AVX512BF16, cpuid.AMXTILE, cpuid.AMXINT8, cpuid.AMXBF16},
}

// missingFeatures names the features level l needs that this CPU lacks.
func missingFeatures(l Level) []string {
	if l == NEON && neonAlwaysPresent {
		return nil // Advanced SIMD is mandatory on arm64; emulators may not report it.
	}
	var missing []string
	for _, f := range requiredFeatures[l] {
		if !cpuid.CPU.Supports(f) {
			missing = append(missing, f.String())
		}
	}
	if l == AMX && len(missing) == 0 {
		// The tile state is usable only once the OS enables and grants
		// it; asked only when the CPU has the features.
		if why := amxOSMissing(); why != "" {
			missing = append(missing, why)
		}
	}
	return missing
}

// family is one kernel family's dispatch entry: the levels it has code for
// and the function that points its function values at one of them.
type family struct {
	name   string
	levels []Level
	use    func(Level)
}

var (
	families []family
	// capLevel is the ceiling from ANYRES_KERNELS (or the best level), set
	// before any init function runs so that families can register in any
	// file order. envErr is what was wrong with ANYRES_KERNELS, if anything.
	capLevel, capFrom, envErr = levelFromEnvOrGeneric()
	// mu guards the selection; kernels read their function values without
	// it, since selection happens at start-up (and in tests, between runs).
	mu     sync.Mutex
	active = capLevel
	chosen = map[string]Level{}
)

// register adds a kernel family and selects its implementation. Called from
// init functions of the family's files; levels are the implementations
// compiled into this build besides generic.
func register(name string, use func(Level), levels ...Level) {
	f := family{name: name, levels: append([]Level{Generic}, levels...), use: use}
	mu.Lock()
	defer mu.Unlock()
	families = append(families, f)
	selectFamily(f, active)
}

// selectFamily points f at its best implementation allowed under cap.
func selectFamily(f family, cap Level) {
	best := Generic
	for _, l := range f.levels {
		if includes(cap, l) && l > best {
			best = l
		}
	}
	f.use(best)
	chosen[f.name] = best
}

// Available lists the levels this build has code for and this CPU can run,
// lowest first.
func Available() []Level {
	var out []Level
	for _, l := range compiledLevels {
		if len(missingFeatures(l)) == 0 {
			out = append(out, l)
		}
	}
	return out
}

// Levels lists the levels that tests and benchmarks may select: those
// available at or below the process cap.
func Levels() []Level {
	var out []Level
	for _, l := range Available() {
		if includes(capLevel, l) {
			out = append(out, l)
		}
	}
	return out
}

// CheckLevel reports whether level l can run in this process: compiled into
// this build and supported by this CPU. The error names what is missing.
func CheckLevel(l Level) error {
	compiled := false
	for _, c := range compiledLevels {
		compiled = compiled || c == l
	}
	if !compiled {
		return fmt.Errorf("kernel level %s is not compiled into this build (GOARCH=%s, levels here: %s)",
			l, goarch, joinLevels(compiledLevels))
	}
	if missing := missingFeatures(l); len(missing) > 0 {
		return fmt.Errorf("kernel level %s needs %s, which this CPU (%s) lacks",
			l, strings.Join(missing, ", "), cpuName())
	}
	return nil
}

func joinLevels(ls []Level) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = l.String()
	}
	return strings.Join(s, ", ")
}

// levelFromEnv returns the level the environment asks for, or the best
// available one when it asks for none.
func levelFromEnv(value string) (Level, string, error) {
	avail := Available()
	best := avail[len(avail)-1]
	if strings.TrimSpace(value) == "" {
		return best, "best level this CPU and build support", nil
	}
	l, err := ParseLevel(value)
	if err != nil {
		return 0, "", fmt.Errorf("%s=%s: %w", EnvVar, value, err)
	}
	if err := CheckLevel(l); err != nil {
		return 0, "", fmt.Errorf("%s=%s: %w", EnvVar, value, err)
	}
	return l, fmt.Sprintf("capped by %s=%s (best available: %s)", EnvVar, value, best), nil
}

// levelFromEnvOrGeneric is levelFromEnv on the process environment. A
// level that cannot run is a configuration error of the whole process, but
// a panic here (package init) would kill every importing program before it
// could say so: the error is kept for EnvErr, which the front door's Load
// and the command check, and the kernels meanwhile run at the one level
// every machine has.
func levelFromEnvOrGeneric() (Level, string, error) {
	l, why, err := levelFromEnv(os.Getenv(EnvVar))
	if err != nil {
		return Generic, "generic, because " + err.Error(), err
	}
	return l, why, nil
}

// EnvErr reports what is wrong with ANYRES_KERNELS (an unknown name, or a
// level this build or CPU cannot run), or nil. Loading a model fails with
// this error, so a bad setting is never run silently at another level.
func EnvErr() error {
	if envErr == nil {
		return nil
	}
	return fmt.Errorf("anyres/kernels: %w", envErr)
}

func setLevelLocked(l Level) {
	active = l
	for _, f := range families {
		selectFamily(f, l)
	}
}

// Active returns the level kernels run at now.
func Active() Level {
	mu.Lock()
	defer mu.Unlock()
	return active
}

// SetLevel switches every kernel family to level l (or the best each family
// has below it) and returns a function that restores the previous level.
// It exists for tests and benchmarks that compare levels within one process;
// it must not be called while kernels run on other goroutines.
func SetLevel(l Level) (restore func(), err error) {
	if err := CheckLevel(l); err != nil {
		return nil, err
	}
	if !includes(capLevel, l) {
		return nil, fmt.Errorf("kernel level %s is above the process cap %s (%s)", l, capLevel, capFrom)
	}
	mu.Lock()
	defer mu.Unlock()
	prev := active
	setLevelLocked(l)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		setLevelLocked(prev)
	}, nil
}

// Report describes the CPU, the features anyres cares about and the choice
// dispatch made.
type Report struct {
	CPU       string            `json:"cpu"`       // the CPU's brand string
	Arch      string            `json:"arch"`      // GOARCH
	Features  map[string]bool   `json:"features"`  // feature name → present
	Available []string          `json:"available"` // the levels this CPU and build can run, lowest first
	Level     string            `json:"level"`     // the level in use
	Why       string            `json:"why"`       // why that level: the best available, or ANYRES_KERNELS
	Families  map[string]string `json:"families"`  // kernel family → the level it runs at
}

// reportedFeatures are the features `anyres info` lists, in order.
var reportedFeatures = []cpuid.FeatureID{
	cpuid.SSE4, cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.F16C,
	cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ, cpuid.AVX512VNNI, cpuid.AVX512BF16, cpuid.AVX512FP16,
	cpuid.AMXTILE, cpuid.AMXBF16, cpuid.AMXINT8,
	cpuid.ASIMD, cpuid.ASIMDHP, cpuid.ASIMDDP, cpuid.FPHP, cpuid.SVE,
}

// FeatureNames returns the reported features in display order.
func FeatureNames() []string {
	out := make([]string, len(reportedFeatures))
	for i, f := range reportedFeatures {
		out[i] = f.String()
	}
	return out
}

// Info reports the CPU, its features and the kernel selection.
func Info() Report {
	mu.Lock()
	defer mu.Unlock()
	r := Report{CPU: cpuName(), Arch: goarch, Features: map[string]bool{}, Level: active.String(), Why: capFrom, Families: map[string]string{}}
	for _, f := range reportedFeatures {
		r.Features[f.String()] = cpuid.CPU.Supports(f)
	}
	if neonAlwaysPresent {
		r.Features[cpuid.ASIMD.String()] = true
	}
	for _, l := range Available() {
		r.Available = append(r.Available, l.String())
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r.Families[n] = chosen[n].String()
	}
	return r
}

func cpuName() string {
	if cpuid.CPU.BrandName != "" {
		return strings.TrimSpace(cpuid.CPU.BrandName)
	}
	if cpuid.CPU.VendorString != "" {
		return cpuid.CPU.VendorString
	}
	return "unknown CPU"
}
