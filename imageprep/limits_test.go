package imageprep

import (
	"bytes"
	"image"
	"image/color"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestResizeChecksTemporaryFirst: a long thin target from a tall source has
// few pixels but needs a huge temporary inside the scaler (its width × the
// source's height). Before the limits, Resize(img, 1, 1<<26) died with
// "fatal error: out of memory"; the old code would try to allocate 1.3 to
// 6.5 GB for the other cases here. Now each is refused, having allocated
// almost nothing.
func TestResizeChecksTemporaryFirst(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 64, 1024)) // 1024 rows
	for _, c := range []struct {
		h, w int
		want string
	}{
		{1, 1 << 26, "Limits.Side"},        // the call
		{16, 200000, "Limits.Side"},        // run -size 16x200000
		{16, 50000, "Limits.ScratchBytes"}, // 50000 × 1024 × 24 B = 1.2 GB of temporary
	} {
		var err error
		n := allocated(func() { _, err = Resize(src, c.h, c.w) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resize to %d×%d: error %v, want one naming %s", c.h, c.w, err, c.want)
		}
		if n > 1<<20 {
			t.Errorf("Resize to %d×%d allocated %d bytes before refusing", c.h, c.w, n)
		}
	}
}

// TestLimitsAreAdjustable: a call's Limits lower (or raise) the defaults.
func TestLimitsAreAdjustable(t *testing.T) {
	src := gradient(64, 64)
	small := Limits{ScratchBytes: 1 << 20} // 1 MiB: 64 rows × 1024 columns × 24 B = 1.5 MiB is over
	if _, err := small.Resize(src, 64, 1024); err == nil || !strings.Contains(err.Error(), "ScratchBytes") {
		t.Errorf("Resize over a 1 MiB scratch limit: error %v", err)
	}
	if _, err := small.Resize(src, 64, 256); err != nil { // 384 KiB
		t.Errorf("Resize within the limit: %v", err)
	}
	if _, err := Prepare(src, Options{Size: Size{H: 32, W: 48}, Norm: ImageNet, Limits: Limits{Side: 40}}); err == nil || !strings.Contains(err.Error(), "Side") {
		t.Errorf("Prepare past Limits.Side: error %v", err)
	}
	if _, err := Prepare(src, Options{Size: Size{H: 32, W: 48}, Norm: ImageNet, Limits: Limits{Pixels: 1000}}); err == nil || !strings.Contains(err.Error(), "Pixels") {
		t.Errorf("Prepare past Limits.Pixels: error %v", err)
	}
	x, err := Prepare(src, Options{Size: Size{H: 32, W: 48}, Norm: ImageNet, Limits: Limits{Side: 64, Pixels: 4096}})
	if err != nil || x.H != 32 || x.W != 48 {
		t.Errorf("Prepare within the limits: %v", err)
	}
	old := DefaultLimits
	defer func() { DefaultLimits = old }()
	DefaultLimits.Side = 50
	if _, err := Resize(src, 32, 32); err == nil || !strings.Contains(err.Error(), "source image 64×64") {
		t.Errorf("Resize of a 64-pixel source with DefaultLimits.Side 50: error %v", err)
	}
}

// hugeImage claims enormous bounds; reading it costs nothing, copying it
// would exhaust memory.
type hugeImage struct{}

func (hugeImage) ColorModel() color.Model { return color.GrayModel }
func (hugeImage) Bounds() image.Rectangle { return image.Rect(0, 0, 1<<30, 1<<30) }
func (hugeImage) At(x, y int) color.Color { return color.Gray{} }

// TestHugeSourceRefused: any image.Image handed to Prepare, Resize or
// ToImage is measured before it is copied (before, Opaque copied it).
func TestHugeSourceRefused(t *testing.T) {
	n := allocated(func() {
		if _, err := Prepare(hugeImage{}, Options{Size: Size{H: 224, W: 224}, Norm: ImageNet}); err == nil {
			t.Error("Prepare of a 2^30×2^30 image: no error")
		}
		if _, err := Resize(hugeImage{}, 224, 224); err == nil {
			t.Error("Resize of a 2^30×2^30 image: no error")
		}
		if _, err := ToImage(hugeImage{}, ImageNet); err == nil {
			t.Error("ToImage of a 2^30×2^30 image: no error")
		}
	})
	if n > 1<<20 {
		t.Errorf("refusing a huge source allocated %d bytes", n)
	}
}

// TestDecodeChecksSide: a PNG whose header declares 1×70000 pixels (few
// pixels, over the side limit) is refused before its pixels are decoded.
func TestDecodeChecksSide(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, MaxSide+1, 1))
	var buf bytes.Buffer
	if err := encodeTo(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(&buf); err == nil || !strings.Contains(err.Error(), "Side") {
		t.Errorf("Decode of a %d-wide PNG: error %v", MaxSide+1, err)
	}
	if _, err := ParseSize("16x200000"); err == nil || !strings.Contains(err.Error(), "Side") {
		t.Errorf("ParseSize(16x200000): error %v", err)
	}
}
