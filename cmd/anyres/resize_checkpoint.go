package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

func init() {
	commands["resize-checkpoint"] = command{"rewrite a timm checkpoint for a new image and/or patch size", runResizeCheckpoint}
}

const resizeHelp = `usage: anyres resize-checkpoint -in a.safetensors|hubfolder -out b.safetensors|folder [-size HxW] [-patch P] [-method bicubic] [-antialias=true]

Rewrites a timm ViT checkpoint (safetensors, timm state_dict names; or a hub
folder, model.safetensors with config.json, as run takes) so that
a model built for a new image size and/or patch size loads it directly, in
timm (timm.create_model(..., img_size=..., patch_size=...) then
load_state_dict) or anywhere else:

  pos_embed                resampled to the new grid (size / patch); the
                           class and register rows, when the table has them
                           (no_embed_class false), are kept as they are
  patch_embed.proj.weight  resized by FlexiViT's pseudo-inverse (PI-resize)
                           when the patch size changes
  everything else          copied byte for byte
  metadata                 kept, with config (and timm_kwargs) img_size and
                           patch_size updated

This is what timm does when it loads a checkpoint into a model of another
size (checkpoint_filter_fn): the defaults, bicubic with antialiasing, are
timm's. Resampled tensors are written as float32.

-out naming a folder, or a path not there yet that does not end in
.safetensors, is a hub folder (made if needed):
model.safetensors, and config.json beside it (the input's timm config with
img_size, patch_size and input_size updated; else the resolved config).

flags:
`

func runResizeCheckpoint(args []string) error {
	fs := flag.NewFlagSet("resize-checkpoint", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), resizeHelp); fs.PrintDefaults() }
	in := fs.String("in", "", "checkpoint to read (.safetensors, or a hub folder)")
	out := fs.String("out", "", "checkpoint to write (.safetensors, or a hub folder)")
	configPath := fs.String("config", "", "JSON config to use (and store) instead of the file's `config` metadata")
	sizeFlag := fs.String("size", "", "new image size `HxW` (default: the current one)")
	patchFlag := fs.String("patch", "", "new patch size `P` or PxQ (default: the current one)")
	method := fs.String("method", "bicubic", "pos_embed resampling: bicubic, bilinear, nearest or fourier (the patch kernel uses bilinear for bilinear, else bicubic)")
	antialias := fs.Bool("antialias", true, "antialias when shrinking (timm's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *in == "" || *out == "" {
		return errors.New("-in and -out are required")
	}
	if *sizeFlag == "" && *patchFlag == "" {
		return errors.New("nothing to do: give -size, -patch or both")
	}
	inFile, inConfig, outFile, outFolder, err := hubInOut(*in, *configPath, *out)
	if err != nil {
		return err
	}
	ck, err := openCheckpoint(inFile, inConfig)
	if err != nil {
		return err
	}
	l, err := ck.layout()
	if err != nil {
		return err
	}
	// Every dimension of the patch kernel is checked, not only its height:
	// a 0-sized one reached size / patch as an integer division by zero.
	if ks, err := ck.file.Shape("patch_embed.proj.weight"); err == nil && slices.Contains(ks, 0) {
		return fmt.Errorf("%s: patch_embed.proj.weight has shape %v, want out×in×h×w with every dimension at least 1", *in, ks)
	}
	if l.patch[0] <= 0 || l.patch[1] <= 0 {
		return fmt.Errorf("%s: cannot tell the patch size (no patch_embed.proj.weight of 4 dimensions, no positive patch_size in the config; got %v)", *in, l.patch)
	}
	newPatch := l.patch
	if *patchFlag != "" {
		p, err := imageprep.ParseSize(*patchFlag)
		if err != nil {
			return fmt.Errorf("-patch: %w", err)
		}
		newPatch = [2]int{p.H, p.W}
	}
	size := imageprep.Size{H: l.grid.H * l.patch[0], W: l.grid.W * l.patch[1]}
	if img, ok := pair(ck.config["img_size"]); ok {
		size = imageprep.Size{H: img[0], W: img[1]}
	}
	if *sizeFlag != "" {
		if size, err = imageprep.ParseSize(*sizeFlag); err != nil {
			return fmt.Errorf("-size: %w", err)
		}
	}
	// timm sizes the table by whole patches: grid = img_size // patch_size.
	grid := posenc.Grid{H: size.H / newPatch[0], W: size.W / newPatch[1]}
	if grid.H < 1 || grid.W < 1 {
		return fmt.Errorf("size %v is smaller than one %dx%d patch", size, newPatch[0], newPatch[1])
	}
	if grid.N() > 1<<16 {
		return fmt.Errorf("size %v with patch %dx%d gives a %v grid: over 65536 tokens", size, newPatch[0], newPatch[1], grid)
	}
	opt, err := resampleOptions(*method, *antialias)
	if err != nil {
		return err
	}
	kernelMethod := "bicubic"
	if *method == "bilinear" {
		kernelMethod = "bilinear"
	}

	tensors := map[string]tensorout.Tensor{}
	for _, nv := range ck.raw.Tensors() {
		tensors[nv.Name] = tensorout.Raw(nv.TensorView)
	}
	report := []string{}
	if grid != l.grid {
		table, _, err := ck.file.Float32("pos_embed")
		if err != nil {
			return err
		}
		newTable, err := posenc.ResampleAbsPosEmbed(table, l.prefix, l.grid, grid, l.dim, opt)
		if err != nil {
			return err
		}
		tensors["pos_embed"] = tensorout.F32([]int{1, l.prefix + grid.N(), l.dim}, newTable)
		report = append(report, fmt.Sprintf("pos_embed: grid %dx%d -> %dx%d (%d prefix rows kept), %v%s",
			l.grid.H, l.grid.W, grid.H, grid.W, l.prefix, opt.Method, aaNote(opt.Antialias)))
	}
	if newPatch != l.patch {
		kernel, shape, err := ck.file.Float32("patch_embed.proj.weight")
		if err != nil {
			return err
		}
		if len(shape) != 4 {
			return fmt.Errorf("patch_embed.proj.weight has shape %v, want out×in×h×w", shape)
		}
		resized, err := resizePatchKernel(kernel, shape[0], shape[1], l.patch, newPatch, kernelMethod, *antialias)
		if err != nil {
			return err
		}
		tensors["patch_embed.proj.weight"] = tensorout.F32([]int{shape[0], shape[1], newPatch[0], newPatch[1]}, resized)
		report = append(report, fmt.Sprintf("patch_embed.proj.weight: %dx%d -> %dx%d (PI-resize, %s%s)",
			l.patch[0], l.patch[1], newPatch[0], newPatch[1], kernelMethod, aaNote(*antialias)))
	}
	if len(report) == 0 && (flagSet(fs, "method") || flagSet(fs, "antialias")) {
		return fmt.Errorf("-method and -antialias do nothing: the grid (%v) and patch size are unchanged", grid)
	}
	if len(report) == 0 {
		report = append(report, "nothing resampled: the grid and patch size are unchanged")
	}

	meta := map[string]string{}
	for k, v := range ck.file.Metadata() {
		meta[k] = v
	}
	sizes := map[string]any{"img_size": []int{size.H, size.W}, "patch_size": []int{newPatch[0], newPatch[1]}}
	if ck.config != nil {
		text, err := withKeys(ck.config, sizes)
		if err != nil {
			return err
		}
		meta["config"] = text
	}
	if kw, ok := meta["timm_kwargs"]; ok {
		var m map[string]any
		if json.Unmarshal([]byte(kw), &m) == nil {
			if text, err := withKeys(m, sizes); err == nil {
				meta["timm_kwargs"] = text
			}
		}
	}
	// The file must read back as written: the stored config (or, without
	// one, the table's shape) must give the new grid and prefix rows.
	var newConfig map[string]any
	if text, ok := meta["config"]; ok && json.Unmarshal([]byte(text), &newConfig) != nil {
		return fmt.Errorf("the rewritten config does not parse")
	}
	if back, err := layoutOf(l.prefix+grid.N(), l.tokens, newPatch, newConfig); err != nil || back.prefix != l.prefix || back.grid != grid {
		why := fmt.Sprintf("as %d prefix rows and a %v grid", back.prefix, back.grid)
		if err != nil {
			why = "ambiguously: " + err.Error()
		}
		return fmt.Errorf("the rewritten table (%d prefix rows, %v grid) would be read back %s; give -config (timm's config.json or anyres's config) so the file records its layout",
			l.prefix, grid, why)
	}
	meta["anyres_resize"] = fmt.Sprintf("from img_size %v patch %v: %s", []int{l.grid.H * l.patch[0], l.grid.W * l.patch[1]}, l.patch, strings.Join(report, "; "))
	var folderConfig []byte
	if outFolder != "" {
		if folderConfig, err = resizedHubConfig(inConfig, meta["config"], sizes, size); err != nil {
			return err
		}
	}
	if err := makeHubOut(outFolder); err != nil {
		return err
	}
	if err := tensorout.WriteSafetensorsFile(outFile, tensors, meta); err != nil {
		return err
	}
	if err := writeHubConfig(outFolder, folderConfig); err != nil {
		return err
	}
	for _, r := range report {
		fmt.Fprintln(os.Stderr, r)
	}
	what := outFile
	if outFolder != "" && folderConfig != nil {
		what = outFolder + " (model.safetensors, config.json)"
	}
	fmt.Fprintf(os.Stderr, "wrote %s for img_size %v, patch %dx%d\n", what, size, newPatch[0], newPatch[1])
	return nil
}

// resizedHubConfig is the config.json of a written hub folder: the input's
// timm config.json with model_args img_size and patch_size (and
// pretrained_cfg.input_size) set to the new ones, or, when the config was
// anyres's resolved form or there was none, the resolved config the file
// stores (nil when it stores none).
func resizedHubConfig(inConfig, resolved string, sizes map[string]any, size imageprep.Size) ([]byte, error) {
	b, err := readConfigFile(inConfig)
	if err != nil {
		return nil, err
	}
	if hub, err := nn.ReadHub(b); b == nil || err != nil || hub == nil {
		if resolved == "" {
			return nil, nil
		}
		return []byte(resolved), nil
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", inConfig, err)
	}
	args, _ := c["model_args"].(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	for k, v := range sizes {
		args[k] = v
	}
	c["model_args"] = args
	if pc, ok := c["pretrained_cfg"].(map[string]any); ok {
		if in, ok := pc["input_size"].([]any); ok && len(in) == 3 {
			pc["input_size"] = []any{in[0], size.H, size.W}
		}
	}
	return json.MarshalIndent(c, "", "  ")
}

// withKeys returns m as JSON with the given keys replaced.
func withKeys(m map[string]any, set map[string]any) (string, error) {
	c := make(map[string]any, len(m)+len(set))
	for k, v := range m {
		c[k] = v
	}
	for k, v := range set {
		c[k] = v
	}
	b, err := json.Marshal(c)
	return string(b), err
}

func aaNote(aa bool) string {
	if aa {
		return ", antialias"
	}
	return ""
}
