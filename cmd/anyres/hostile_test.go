package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// copyFile copies a file into dir and returns the copy's path.
func copyFile(t testing.TB, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// aliases lists other names for the file at p: a relative-looking detour,
// a hard link and a symbolic link (where the file system has them).
func aliases(t *testing.T, p string) []string {
	dir := filepath.Dir(p)
	out := []string{p, filepath.Join(dir, ".", filepath.Base(p))}
	if os.Link(p, filepath.Join(dir, "hard-"+filepath.Base(p))) == nil {
		out = append(out, filepath.Join(dir, "hard-"+filepath.Base(p)))
	}
	if os.Symlink(p, filepath.Join(dir, "soft-"+filepath.Base(p))) == nil {
		out = append(out, filepath.Join(dir, "soft-"+filepath.Base(p)))
	}
	return out
}

// TestNoCommandWritesOverItsInput: every command that writes a file
// refuses an output that is one of its inputs, by any name, and leaves the
// input as it was.
func TestNoCommandWritesOverItsInput(t *testing.T) {
	dir := t.TempDir()
	ck := copyFile(t, goldenPath(t, "vit_cls_learned.safetensors"), dir)
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"architecture": "vit_tiny_patch16_224", "model_args": {"num_heads": 3}}`), 0o644)
	before, _ := os.ReadFile(ck)
	cfgBefore, _ := os.ReadFile(cfg)
	photo := writePhoto(t, dir, 32, 32)
	for _, out := range aliases(t, ck) {
		for name, call := range map[string]func() error{
			"quantize":          func() error { return runQuantize([]string{"-in", ck, "-out", out}) },
			"resize-checkpoint": func() error { return runResizeCheckpoint([]string{"-in", ck, "-out", out, "-size", "32x32"}) },
			"posviz":            func() error { return runPosviz([]string{"-weights", ck, "-out", out}) },
			"run": func() error {
				_, err := runCaptured(t, "-weights", ck, "-image", photo, "-out", out+".npy")
				return err
			},
		} {
			if name == "run" {
				// run's -out must end in .npy/.safetensors: alias the input by that name.
				os.Remove(out + ".npy")
				if os.Link(ck, out+".npy") != nil {
					continue
				}
			}
			err := call()
			if err == nil || !strings.Contains(err.Error(), "is the input") {
				t.Errorf("%s -out %s: %v, want a refusal to write over the input", name, out, err)
			}
		}
	}
	for name, call := range map[string]func() error{
		"resize-checkpoint -config": func() error {
			return runResizeCheckpoint([]string{"-in", ck, "-out", cfg, "-config", cfg, "-size", "32x32"})
		},
		"posviz -config": func() error { return runPosviz([]string{"-weights", ck, "-config", cfg, "-out", cfg}) },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "is the input") {
			t.Errorf("%s: %v, want a refusal to write over the input", name, err)
		}
	}
	if after, _ := os.ReadFile(ck); !bytes.Equal(before, after) {
		t.Error("the checkpoint changed")
	}
	if after, _ := os.ReadFile(cfg); !bytes.Equal(cfgBefore, after) {
		t.Error("the config changed")
	}
}

// TestOutputsNeverReplaceDevices: -out on a device is refused, not renamed over.
func TestOutputsNeverReplaceDevices(t *testing.T) {
	fi, err := os.Stat(os.DevNull)
	if err != nil || fi.Mode().IsRegular() {
		t.Skip("no device file here")
	}
	ck := goldenPath(t, "vit_cls_learned.safetensors")
	for name, err := range map[string]error{
		"quantize":          runQuantize([]string{"-in", ck, "-out", os.DevNull}),
		"resize-checkpoint": runResizeCheckpoint([]string{"-in", ck, "-out", os.DevNull, "-size", "32x32"}),
		"posviz":            runPosviz([]string{"-weights", ck, "-out", os.DevNull}),
	} {
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s -out %s: %v", name, os.DevNull, err)
		}
	}
	if fi2, err := os.Stat(os.DevNull); err != nil || fi2.Mode() != fi.Mode() {
		t.Errorf("%s changed: %v %v", os.DevNull, fi2, err)
	}
}

// TestEveryFileReadIsBounded: every file a command reads, given an endless
// device (or a link to one), is refused by its kind's limit or as not a
// regular file, rather than read until memory runs out.
func TestEveryFileReadIsBounded(t *testing.T) {
	if fi, err := os.Stat("/dev/zero"); err != nil || fi.Mode().IsRegular() {
		t.Skip("no /dev/zero here")
	}
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.json")
	if os.Symlink("/dev/zero", zero) != nil {
		zero = "/dev/zero"
	}
	ck := tinyModel(t)
	photo := writePhoto(t, dir, 32, 32)
	hub := filepath.Join(dir, "hub")
	os.Mkdir(hub, 0o755)
	copyFile(t, tinyModel(t), hub)
	os.Rename(filepath.Join(hub, "vit_tiny.safetensors"), filepath.Join(hub, "model.safetensors"))
	hubLinked := os.Symlink("/dev/zero", filepath.Join(hub, "config.json")) == nil
	out := filepath.Join(dir, "o.safetensors")
	for _, src := range []string{"/dev/zero", zero} {
		for name, call := range map[string]func() error{
			"run -config": func() error { _, err := runCaptured(t, "-weights", ck, "-image", photo, "-config", src); return err },
			"run -labels": func() error { _, err := runCaptured(t, "-weights", ck, "-image", photo, "-labels", src); return err },
			"run -input":  func() error { _, err := runCaptured(t, "-weights", ck, "-input", src); return err },
			"run -weights": func() error {
				_, err := runCaptured(t, "-weights", src, "-image", photo)
				return err
			},
			"run hub config.json":   func() error { _, err := runCaptured(t, "-weights", hub, "-image", photo); return err },
			"quantize -in":          func() error { return runQuantize([]string{"-in", src, "-out", out}) },
			"resize-checkpoint -in": func() error { return runResizeCheckpoint([]string{"-in", src, "-out", out, "-size", "32"}) },
			"resize-checkpoint -config": func() error {
				return runResizeCheckpoint([]string{"-in", ck, "-config", src, "-out", out, "-size", "32"})
			},
			"posviz -weights": func() error { return runPosviz([]string{"-weights", src, "-out", out + ".png"}) },
			"posviz -config":  func() error { return runPosviz([]string{"-weights", ck, "-config", src, "-out", out + ".png"}) },
		} {
			if name == "run hub config.json" && !hubLinked {
				continue // no symbolic links here (wasip1)
			}
			err := call()
			if err == nil || !(strings.Contains(err.Error(), "limit") || strings.Contains(err.Error(), "not a regular file") || strings.Contains(err.Error(), "does not start with")) {
				t.Errorf("%s %s: %v, want a bound", name, src, err)
			}
		}
	}
}

// TestSizesAreCheckedBeforeAllocating: a posviz picture or a bench image
// too large to make is refused before it is allocated.
func TestSizesAreCheckedBeforeAllocating(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.png")
	// A 256×256 grid: at the token limit (65536), its picture far over the pixel limit.
	_, shape := golden.Open(t, "vit_cls_learned.safetensors").F32(t, "patch_embed.proj.weight")
	size := fmt.Sprintf("%dx%d", 256*shape[2], 256*shape[3])
	err := runPosviz([]string{"-weights", goldenPath(t, "vit_cls_learned.safetensors"), "-size", size, "-tiles", "1000000", "-out", out})
	if err == nil || !strings.Contains(err.Error(), "pixel limit") {
		t.Errorf("posviz with a huge canvas: %v", err)
	}
}

// TestMultiPrefixTablesResizeAndDraw: a DeiT-distilled table (class and
// distillation rows) and a DINOv2 table with registers and no rows for
// them resize, read back as written, and draw.
func TestMultiPrefixTablesResizeAndDraw(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"deit_distilled.safetensors", "vit_dinov2_reg.safetensors"} {
		in := stripped(t, name)
		ck, err := openCheckpoint(in, "")
		if err != nil {
			t.Fatal(err)
		}
		l, err := ck.layout()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The layout the reference says: timm's own config metadata.
		var meta struct {
			ImgSize      [2]int `json:"img_size"`
			PatchSize    [2]int `json:"patch_size"`
			Prefix       int    `json:"num_prefix_tokens"`
			NoEmbedClass bool   `json:"no_embed_class"`
		}
		g := golden.Open(t, name)
		g.MetaJSON(t, "config", &meta)
		wantPrefix := meta.Prefix
		if meta.NoEmbedClass {
			wantPrefix = 0
		}
		wantGrid := posenc.Grid{H: meta.ImgSize[0] / meta.PatchSize[0], W: meta.ImgSize[1] / meta.PatchSize[1]}
		if l.prefix != wantPrefix || l.grid != wantGrid {
			t.Errorf("%s: read as %d prefix rows and a %v grid, want %d and %v", name, l.prefix, l.grid, wantPrefix, wantGrid)
		}
		if err := runPosviz([]string{"-weights", in, "-out", filepath.Join(dir, name+".png")}); err != nil {
			t.Errorf("%s: posviz: %v", name, err)
		}
		// Every grid from 1×1 to 5×5 either reads back as written or is refused.
		for s := 1; s <= 5; s++ {
			out := filepath.Join(dir, "r.safetensors")
			os.Remove(out)
			size := []string{"-size", itoa(s*meta.PatchSize[0]) + "x" + itoa(s*meta.PatchSize[1])}
			err := runResizeCheckpoint(append([]string{"-in", in, "-out", out}, size...))
			if err != nil {
				if !strings.Contains(err.Error(), "read back") {
					t.Errorf("%s to %d×%d: %v", name, s, s, err)
				}
				continue
			}
			back, err := openCheckpoint(out, "")
			if err != nil {
				t.Fatal(err)
			}
			bl, err := back.layout()
			if err != nil || bl.prefix != wantPrefix || bl.grid != (posenc.Grid{H: s, W: s}) {
				t.Errorf("%s resized to %d×%d reads back as %d prefix rows and a %v grid (%v)", name, s, s, bl.prefix, bl.grid, err)
			}
		}
		// With the hub config the layout is recorded: every size writes.
		hubCfg := filepath.Join(dir, "config.json")
		var hub map[string]any
		g.MetaJSON(t, "hub_config", &hub)
		var kw map[string]any
		g.MetaJSON(t, "timm_kwargs", &kw)
		hub["model_args"] = kw
		b, _ := json.Marshal(hub)
		os.WriteFile(hubCfg, b, 0o644)
		out := filepath.Join(dir, "h.safetensors")
		if err := runResizeCheckpoint([]string{"-in", in, "-config", hubCfg, "-out", out, "-size", itoa(3 * meta.PatchSize[0])}); err != nil {
			t.Errorf("%s with its hub config: %v", name, err)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestBadKernelLevelIsReported runs the command (this test binary, as
// main) with an unknown ANYRES_KERNELS: it exits 1 with a message naming
// the setting, and no stack trace.
func TestBadKernelLevelIsReported(t *testing.T) {
	if os.Getenv("ANYRES_TEST_MAIN") == "1" {
		os.Args = []string{"anyres", "info"}
		main()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	cmd := exec.Command(exe, "-test.run=^TestBadKernelLevelIsReported$")
	cmd.Env = append(os.Environ(), kernels.EnvVar+"=bogus", "ANYRES_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if err != nil && !ok {
		t.Skipf("cannot re-run the test binary here: %v", err)
	}
	if !ok || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want status 1:\n%s", err, out)
	}
	if !strings.Contains(string(out), kernels.EnvVar+"=bogus") || strings.Contains(string(out), "goroutine") || strings.Contains(string(out), "panic") {
		t.Errorf("want a message naming the setting and no stack trace:\n%s", out)
	}
}

// TestBenchModelSizesCheckedFirst: bench model refuses a size over the
// image limits or the token cap before it allocates the image.
func TestBenchModelSizesCheckedFirst(t *testing.T) {
	for _, size := range []string{"32768x32768", "4096x4096"} {
		err := runBenchModel([]string{"-weights", tinyModel(t), "-size", size, "-threads", "1", "-time", "1ms"})
		if err == nil || !(strings.Contains(err.Error(), "limit") || strings.Contains(err.Error(), "cap")) {
			t.Errorf("-size %s: %v", size, err)
		}
	}
}

// TestHelpExitsZero: -h on a command lists its flags and is not a failure.
func TestHelpExitsZero(t *testing.T) {
	if os.Getenv("ANYRES_TEST_MAIN") == "help" {
		os.Args = []string{"anyres", "quantize", "-h"}
		main()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelpExitsZero$")
	cmd.Env = append(os.Environ(), "ANYRES_TEST_MAIN=help")
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Skipf("cannot re-run the test binary here: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "-dtype") {
		t.Errorf("quantize -h: %v\n%s", err, out)
	}
}

// TestRunRefusesFlagsThatDoNothing: a flag the rest of the command line
// makes do nothing is an error naming it.
func TestRunRefusesFlagsThatDoNothing(t *testing.T) {
	dir := t.TempDir()
	photo := writePhoto(t, dir, 32, 32)
	ck := tinyModel(t)
	npy, st := filepath.Join(dir, "f.npy"), filepath.Join(dir, "f.safetensors")
	for flag, args := range map[string][]string{
		"-save":      {"-weights", ck, "-image", photo, "-save", "pooled"},
		"-save ":     {"-weights", ck, "-image", photo, "-out", st, "-save", "pooled"},
		"-top":       {"-weights", ck, "-image", photo, "-out", npy, "-top", "3"},
		"-labels":    {"-weights", ck, "-image", photo, "-out", npy, "-labels", photo},
		"-norm":      {"-weights", ck, "-input", npy, "-norm", "clip"},
		"-antialias": {"-weights", ck, "-image", photo, "-antialias=false"},
	} {
		_, err := runCaptured(t, args...)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(flag)+" does nothing") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, err := runCaptured(t, "-weights", ck, "-image", photo, "-method", "bilinear", "-antialias=false", "-out", npy, "-save", "pooled"); err != nil {
		t.Errorf("flags that act: %v", err)
	}
}

// TestResampleFlagsThatDoNothing: -method or -antialias where nothing is
// resampled is refused by posviz and resize-checkpoint.
func TestResampleFlagsThatDoNothing(t *testing.T) {
	dir := t.TempDir()
	ck := goldenPath(t, "vit_cls_learned.safetensors")
	l := func() posLayout {
		c, err := openCheckpoint(ck, "")
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.layout()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}()
	same := itoa(l.grid.H*l.patch[0]) + "x" + itoa(l.grid.W*l.patch[1])
	for name, err := range map[string]error{
		"posviz -method":               runPosviz([]string{"-weights", ck, "-method", "bilinear", "-out", filepath.Join(dir, "a.png")}),
		"posviz -antialias":            runPosviz([]string{"-weights", ck, "-antialias=false", "-out", filepath.Join(dir, "b.png")}),
		"resize-checkpoint -method":    runResizeCheckpoint([]string{"-in", ck, "-out", filepath.Join(dir, "c.safetensors"), "-size", same, "-method", "nearest"}),
		"resize-checkpoint -antialias": runResizeCheckpoint([]string{"-in", ck, "-out", filepath.Join(dir, "d.safetensors"), "-size", same, "-antialias=false"}),
	} {
		if err == nil || !strings.Contains(err.Error(), "do nothing") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRunRefusesNonFiniteInput: an -input tensor with a NaN or an Inf is
// refused, naming the element, instead of printing classes ranked by NaN.
// Finite values far past any pixel either overflow inside the model, and
// the logits are refused, or do not (that depends on the kernels and the
// weights): either way no NaN is printed.
func TestRunRefusesNonFiniteInput(t *testing.T) {
	ck := tinyModel(t)
	huge := make([]float32, 3*32*32)
	for i := range huge {
		huge[i] = 1e38 * float32(i%3-1)
	}
	in := filepath.Join(t.TempDir(), "huge.npy")
	if err := tensorout.WriteNPYFile(in, []int{3, 32, 32}, huge); err != nil {
		t.Fatal(err)
	}
	printed, err := runCaptured(t, "-weights", ck, "-input", in)
	if err != nil && !strings.Contains(err.Error(), "not finite") || err == nil && strings.Contains(strings.ToLower(printed), "nan") {
		t.Errorf("values of ±1e38: %v, printed %q; want the logits refused as not finite, or classes without NaN", err, printed)
	}
	for i, v := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		x := make([]float32, 3*32*32)
		x[100+i] = v
		in := filepath.Join(t.TempDir(), "x.npy")
		if err := tensorout.WriteNPYFile(in, []int{1, 3, 32, 32}, x); err != nil {
			t.Fatal(err)
		}
		_, err := runCaptured(t, "-weights", ck, "-input", in)
		if want := fmt.Sprintf("element %d of %d", 100+i, len(x)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v at %d: %v, want an error naming %q", v, 100+i, err, want)
		}
	}
}
