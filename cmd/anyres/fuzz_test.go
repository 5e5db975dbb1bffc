package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCommands runs quantize, resize-checkpoint, posviz and run on
// command lines drawn from a vocabulary of flags and hostile values (the
// input itself, other names for it, devices, endless files, huge and
// malformed sizes, unknown methods): nothing may panic, no command may
// change its input or replace a device, and every output stays in the
// test's folder (or is a device, refused). Each byte of the input picks one word; the first picks
// the command.
func FuzzCommands(f *testing.F) {
	dir := f.TempDir()
	in := copyFile(f, goldenPath(f, "vit_cls_learned.safetensors"), dir)
	before, err := os.ReadFile(in)
	if err != nil {
		f.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.safetensors")
	os.Link(in, hard)
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"architecture": "vit_tiny_patch16_224", "model_args": {"num_heads": 3}}`), 0o644)
	photo := writePhoto(f, dir, 40, 56)
	out := filepath.Join(dir, "out")
	os.Mkdir(filepath.Join(dir, "w"), 0o755)
	words := []string{
		"-in", "-out", "-weights", "-config", "-size", "-patch", "-method", "-tiles", "-dtype", "-keep-f32",
		"-image", "-labels", "-antialias=false", "-edge", "-tokens", "-max-tokens", "-input", "-top",
		in, hard, cfg, photo, out + ".safetensors", out + ".png", out + ".npy", os.DevNull, "/dev/zero", dir,
		"0", "-1", "1", "16", "48x64", "640x480", "2x3x4", "1e9", "x", "", ",,,", "blocks.0", "head",
		"bicubic", "fourier", "dinov2", "lanczos", "int8", "bf16", "f64", "pad", "crop", "resize",
	}
	commands := []func(args []string) error{
		runQuantize, runResizeCheckpoint, runPosviz,
		func(args []string) error {
			var b bytes.Buffer
			old := stdout
			stdout = &b
			defer func() { stdout = old }()
			return runRun(args)
		},
	}
	f.Add([]byte{0, 0, 18, 1, 22})         // quantize -in in -out out.safetensors
	f.Add([]byte{1, 0, 18, 1, 18, 4, 32})  // resize-checkpoint -in in -out in -size 48x64
	f.Add([]byte{2, 2, 18, 1, 23, 7, 30})  // posviz -weights in -out out.png -tiles 1
	f.Add([]byte{3, 2, 19, 10, 21, 1, 24}) // run -weights hard -image photo -out out.npy
	f.Add([]byte{1, 0, 18, 1, 22, 3, 26, 4, 33})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || len(b) > 16 {
			return
		}
		args := make([]string, len(b)-1)
		for i, c := range b[1:] {
			args[i] = words[int(c)%len(words)]
		}
		// An output named by a bare word ("-out 16") would land in the
		// package's folder: outputs go to the test's folder or are the
		// absolute hostile targets.
		for i := 1; i < len(args); i++ {
			if args[i-1] == "-out" && !filepath.IsAbs(args[i]) {
				args[i] = filepath.Join(dir, "w", args[i])
			}
		}
		_ = commands[int(b[0])%len(commands)](args)
		// The checkpoint is this command's input when a reading flag names
		// it; as -out of a command that reads something else it may be
		// replaced (and is restored for the next run).
		final := map[string]string{} // a flag given twice takes its last value
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-in", "-weights", "-config", "-image", "-labels", "-input":
				final[args[i]] = args[i+1]
			}
		}
		read := false
		for _, v := range final {
			read = read || v == in || v == hard
		}
		now, err := os.ReadFile(in)
		if (err != nil || !bytes.Equal(now, before)) && read {
			t.Fatalf("%q changed its input (%v)", args, err)
		}
		// Restore the input and its hard link for the next run whenever
		// it was replaced, even by the same bytes (a new file, which the
		// link no longer names).
		fi, err1 := os.Stat(in)
		hi, err2 := os.Stat(hard)
		if err != nil || !bytes.Equal(now, before) || err1 != nil || err2 != nil || !os.SameFile(fi, hi) {
			os.Remove(in)
			os.Remove(hard)
			os.WriteFile(in, before, 0o644)
			os.Link(in, hard)
		}
		if fi, err := os.Stat(os.DevNull); err == nil && fi.Mode().IsRegular() {
			t.Fatalf("%q replaced %s with a file", args, os.DevNull)
		}
	})
}
