package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// Method is how a table learned on one grid is resampled to another.
type Method int

// The resampling methods. The zero value is Bicubic, timm's default; pair it
// with Antialias (DefaultResampleOptions) to get timm's defaults in full.
const (
	// Bicubic is F.interpolate's mode="bicubic": Keys' kernel (a = −0.75)
	// with edge clamping, or PIL's (a = −0.5) when antialiased.
	Bicubic Method = iota
	// Bilinear is F.interpolate's mode="bilinear".
	Bilinear
	// Nearest is F.interpolate's mode="nearest" (PyTorch's legacy nearest:
	// source floor(i·in/out)). Antialias and AlignCorners are errors, as in
	// F.interpolate.
	Nearest
	// Fourier treats each channel as samples of a band-limited periodic
	// signal: the 2-D spectrum is zero-padded (upsampling) or truncated
	// (downsampling) and inverted, scaled so amplitudes are preserved, with
	// the Nyquist bins of even sizes split or folded symmetrically. It is
	// the identity at the same size, exact on signals whose frequencies
	// both grids can hold, and downsampling undoes upsampling exactly.
	// Samples sit at pixel centres, as F.interpolate's align_corners=False
	// puts them, so Fourier and the other methods agree on where a token is.
	// Truncating the spectrum is already an ideal low-pass filter, so
	// Antialias changes nothing; AlignCorners is an error.
	Fourier
)

var methodNames = [...]string{Bicubic: "bicubic", Bilinear: "bilinear", Nearest: "nearest", Fourier: "fourier"}

// String returns the method's name as ParseMethod accepts it.
func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod turns a method name (as timm spells its interpolation
// argument: "bicubic", "bilinear", "nearest"; or "fourier") into a Method.
func ParseMethod(s string) (Method, error) {
	for m, name := range methodNames {
		if s == name {
			return Method(m), nil
		}
	}
	return 0, fmt.Errorf("posenc: unknown resampling method %q (want bicubic, bilinear, nearest or fourier)", s)
}

// ResampleOptions chooses how tables are resampled: F.interpolate's mode,
// antialias and align_corners.
type ResampleOptions struct {
	Method       Method // F.interpolate's mode, or Fourier
	Antialias    bool   // PIL-style antialias: when downsampling, the kernel widens by the scale factor
	AlignCorners bool   // F.interpolate's align_corners (corner samples map to corner samples)
	// ScaleOffset, when not zero, is facebookresearch/dinov2's
	// interpolate_offset: F.interpolate gets scale_factor (new + offset)/old
	// per axis instead of the new size, which shifts every sample a little
	// (its plain models use 0.1; its register models 0 with antialias).
	// Bilinear and bicubic only, without align_corners.
	ScaleOffset float64
}

// DINOv2Resample returns facebookresearch/dinov2's table resampling:
// bicubic with interpolate_offset 0.1 and no antialias (the plain models),
// or, with registers, offset 0 and antialias.
func DINOv2Resample(registers bool) ResampleOptions {
	if registers {
		return ResampleOptions{Method: Bicubic, Antialias: true}
	}
	return ResampleOptions{Method: Bicubic, ScaleOffset: 0.1}
}

// DefaultResampleOptions returns timm's defaults for resample_abs_pos_embed
// and resample_patch_embed: bicubic with antialias, align_corners false.
func DefaultResampleOptions() ResampleOptions {
	return ResampleOptions{Method: Bicubic, Antialias: true}
}

// String describes the options, e.g. "bicubic (antialias true, align_corners false)".
func (o ResampleOptions) String() string {
	if o.ScaleOffset != 0 {
		return fmt.Sprintf("%v (antialias %v, align_corners %v, scale offset %g)", o.Method, o.Antialias, o.AlignCorners, o.ScaleOffset)
	}
	return fmt.Sprintf("%v (antialias %v, align_corners %v)", o.Method, o.Antialias, o.AlignCorners)
}

// validate reports options that F.interpolate (or Fourier resampling)
// refuses.
func (o ResampleOptions) validate() error {
	if o.ScaleOffset != 0 {
		switch {
		case !(o.ScaleOffset > 0 && o.ScaleOffset < 1):
			return fmt.Errorf("posenc: scale offset %g outside (0, 1): the size F.interpolate computes would not be the grid asked for", o.ScaleOffset)
		case o.Method != Bicubic && o.Method != Bilinear:
			return fmt.Errorf("posenc: a scale offset applies to bilinear and bicubic resampling, not %v", o.Method)
		case o.AlignCorners:
			return fmt.Errorf("posenc: a scale offset does not combine with align_corners")
		}
	}
	switch o.Method {
	case Bicubic, Bilinear:
		return nil
	case Nearest:
		if o.Antialias {
			return fmt.Errorf("posenc: antialias applies to bilinear and bicubic resampling, not nearest (as in F.interpolate)")
		}
		if o.AlignCorners {
			return fmt.Errorf("posenc: align_corners applies to bilinear and bicubic resampling, not nearest (as in F.interpolate)")
		}
		return nil
	case Fourier:
		if o.AlignCorners {
			return fmt.Errorf("posenc: Fourier resampling places samples at pixel centres; AlignCorners does not apply")
		}
		return nil
	}
	return fmt.Errorf("posenc: unknown resampling method %v", o.Method)
}

// gridTaps returns the resampling of each axis from old to new. DINOv2's
// offset rule (ScaleOffset) hands F.interpolate scale factors for both
// axes, so an axis that keeps its size is resampled as well (by
// (n+offset)/n); only an unchanged grid is left as it is, as DINOv2 returns
// its table.
func (o ResampleOptions) gridTaps(old, new Grid) (th, tw *kernels.Taps) {
	scaled := o.ScaleOffset != 0 && old != new
	return o.axisTaps(old.H, new.H, scaled), o.axisTaps(old.W, new.W, scaled)
}

// axisTaps returns the resampling of one axis from in to out samples, by
// the offset rule's scale factor when scaled.
func (o ResampleOptions) axisTaps(in, out int, scaled bool) *kernels.Taps {
	if scaled {
		mode := kernels.InterpBicubic
		if o.Method == Bilinear {
			mode = kernels.InterpBilinear
		}
		return kernels.InterpScaledTaps(in, out, mode, o.Antialias, (float64(out)+o.ScaleOffset)/float64(in))
	}
	switch o.Method {
	case Fourier:
		return fourierTaps(in, out)
	case Bilinear:
		return kernels.InterpTaps(in, out, kernels.InterpBilinear, o.AlignCorners, o.Antialias)
	case Nearest:
		return kernels.InterpTaps(in, out, kernels.InterpNearest, false, false)
	}
	return kernels.InterpTaps(in, out, kernels.InterpBicubic, o.AlignCorners, o.Antialias)
}

// Limits on what resampling accepts from outside, so that no table or size
// read from a file can make the library allocate without bound.
const (
	// MaxGridSide is the largest grid height or width (4096 patches of 16
	// pixels is a 65536-pixel image side).
	MaxGridSide = 4096
	// MaxTableValues is the most values one resampled table may hold
	// (1 GiB of float32).
	MaxTableValues = 1 << 28
	// maxFourierSide bounds the dense Fourier operator (side² weights).
	maxFourierSide = 1024
)

// checkResampleGrid validates a grid given to a resampling function.
func checkResampleGrid(what string, g Grid) error {
	if g.H <= 0 || g.W <= 0 {
		return fmt.Errorf("posenc: %s grid %v: sizes must be positive", what, g)
	}
	if g.H > MaxGridSide || g.W > MaxGridSide {
		return fmt.Errorf("posenc: %s grid %v: sides are limited to %d", what, g, MaxGridSide)
	}
	return nil
}

// checkResampleTableSize validates rows×dim against MaxTableValues.
func checkResampleTableSize(what string, rows, dim int) error {
	if dim <= 0 {
		return fmt.Errorf("posenc: %s: channel count %d must be positive", what, dim)
	}
	if rows > MaxTableValues/dim {
		return fmt.Errorf("posenc: %s: %d rows of %d values exceed the limit of %d values", what, rows, dim, MaxTableValues)
	}
	return nil
}

// ResampleGrid resizes a channels-last table, old.H×old.W rows of
// channels values (row-major grid order, as a ViT's patch tokens are),
// to the grid new, and returns the new table. It is F.interpolate on the
// table seen as a (1, channels, H, W) image, with opt's mode, antialias and
// align_corners (or Fourier resampling).
func ResampleGrid(src []float32, old, new Grid, channels int, opt ResampleOptions) ([]float32, error) {
	if err := checkResample(old, new, channels, opt); err != nil {
		return nil, err
	}
	if want := old.N() * channels; len(src) != want {
		return nil, fmt.Errorf("posenc: ResampleGrid: table has %d values, want %s×%d = %d", len(src), old, channels, want)
	}
	dst := make([]float32, new.N()*channels)
	th, tw := opt.gridTaps(old, new)
	kernels.Resample(0, dst, src, channels, th, tw)
	return dst, nil
}

// ResampleTaps returns the per-axis taps ResampleGrid applies between old
// and new (height, then width), for callers that resample many tables
// between the same grids with kernels.Resample, or inspect the operator
// (Taps.Matrix).
func ResampleTaps(old, new Grid, opt ResampleOptions) (th, tw *kernels.Taps, err error) {
	if err := checkResample(old, new, 1, opt); err != nil {
		return nil, nil, err
	}
	th, tw = opt.gridTaps(old, new)
	return th, tw, nil
}

func checkResample(old, new Grid, channels int, opt ResampleOptions) error {
	if err := checkResampleGrid("old", old); err != nil {
		return err
	}
	if err := checkResampleGrid("new", new); err != nil {
		return err
	}
	if err := opt.validate(); err != nil {
		return err
	}
	if opt.Method == Fourier && max(old.H, old.W, new.H, new.W) > maxFourierSide {
		return fmt.Errorf("posenc: Fourier resampling %v → %v: sides are limited to %d", old, new, maxFourierSide)
	}
	if err := checkResampleTableSize("old table", old.N(), channels); err != nil {
		return err
	}
	return checkResampleTableSize("new table", new.N(), channels)
}

// GridFromTokens infers the square grid of a position table with rows rows,
// prefix of which belong to prefix tokens (class, registers): timm's
// assumption when no old size is given. It fails when the rest is not a
// perfect square.
func GridFromTokens(rows, prefix int) (Grid, error) {
	if prefix < 0 || prefix > rows {
		return Grid{}, fmt.Errorf("posenc: %d prefix tokens do not fit a table of %d rows", prefix, rows)
	}
	n := rows - prefix
	if n == 0 {
		return Grid{}, fmt.Errorf("posenc: table of %d rows has no patch rows after %d prefix tokens", rows, prefix)
	}
	side := int(math.Sqrt(float64(n)))
	for side*side > n {
		side--
	}
	for (side+1)*(side+1) <= n {
		side++
	}
	if side*side != n {
		return Grid{}, fmt.Errorf("posenc: %d patch rows (%d rows − %d prefix) are not a square grid; give the grid explicitly", n, rows, prefix)
	}
	return Grid{H: side, W: side}, nil
}

// ResampleAbsPosEmbed resamples a learned absolute position table, timm's
// resample_abs_pos_embed: table holds prefix rows (class and register
// tokens), kept unchanged, then old.H×old.W patch rows in row-major order,
// each dim values wide. The result holds the same prefix rows and
// new.H×new.W patch rows. It is always a new slice.
//
// timm returns its input unchanged whenever the new token count equals the
// old one and the new grid is square, whatever the old grid is: a 16×9 table
// asked for 12×12 comes back as it was, its rows then read on the wrong
// grid. Here the table is returned unchanged only when old == new (where
// every method is the identity anyway), and a grid change with the same
// token count is resampled. The two agree wherever timm's early return does
// what it was meant for.
func ResampleAbsPosEmbed(table []float32, prefix int, old, new Grid, dim int, opt ResampleOptions) ([]float32, error) {
	if err := checkAbsTable(table, prefix, old, dim); err != nil {
		return nil, err
	}
	if err := checkResample(old, new, dim, opt); err != nil {
		return nil, err
	}
	if err := checkResampleTableSize("resampled table", prefix+new.N(), dim); err != nil {
		return nil, err
	}
	out := make([]float32, (prefix+new.N())*dim)
	copy(out, table[:prefix*dim])
	if old == new {
		copy(out[prefix*dim:], table[prefix*dim:])
		return out, nil
	}
	th, tw := opt.gridTaps(old, new)
	kernels.Resample(0, out[prefix*dim:], table[prefix*dim:], dim, th, tw)
	return out, nil
}

// checkAbsTable validates a position table of prefix + old.N() rows of dim
// values, saying which grid the table would fit when it does not fit old.
func checkAbsTable(table []float32, prefix int, old Grid, dim int) error {
	if dim <= 0 {
		return fmt.Errorf("posenc: position table: dim %d must be positive", dim)
	}
	if prefix < 0 {
		return fmt.Errorf("posenc: position table: negative prefix count %d", prefix)
	}
	if err := checkResampleGrid("table", old); err != nil {
		return err
	}
	if err := checkResampleTableSize("position table", prefix+old.N(), dim); err != nil {
		return err
	}
	want := (prefix + old.N()) * dim
	if len(table) == want {
		return nil
	}
	msg := fmt.Sprintf("posenc: position table has %d values, want (%d prefix + %s grid)·%d = %d", len(table), prefix, old, dim, want)
	switch rows := len(table) / dim; {
	case len(table)%dim != 0:
		msg += fmt.Sprintf("; %d is not a multiple of dim %d", len(table), dim)
	case rows < prefix:
		msg += fmt.Sprintf("; its %d rows are fewer than the %d prefix tokens", rows, prefix)
	default:
		if g, err := GridFromTokens(rows, prefix); err == nil {
			msg += fmt.Sprintf("; its %d rows fit a %s grid", rows, g)
		} else {
			msg += fmt.Sprintf("; its %d rows leave %d patch rows", rows, rows-prefix)
		}
	}
	return fmt.Errorf("%s", msg)
}
