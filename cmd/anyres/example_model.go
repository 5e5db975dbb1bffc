package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

const exampleModelHelp = `usage: anyres example-model [-from DIR] [-force] NAME OUTDIR

Writes a tiny hub folder (config.json + model.safetensors, as timm writes a
checkpoint to the Hugging Face hub) made from the reference file NAME in
-from (testdata/golden: NAME is the file's name without .safetensors, e.g.
vit_dinov2_reg), so every family can be tried offline:

	anyres example-model vit_dinov2_reg /tmp/dinov2
	anyres run -weights /tmp/dinov2 -image testdata/images/hills.jpg

model.safetensors holds the weights alone (the reference inputs and outputs
are left out); config.json is the file's hub_config with the arguments the
tiny model was built with (timm_kwargs) as model_args. A reference file
without a hub_config gets {"architecture": timm_model, "model_args": ...}.
The weights are random: the classes it prints mean nothing. OUTDIR must not
exist unless -force is given. With -list it lists the names.

`

func init() {
	commands["example-model"] = command{"a tiny offline hub folder per family, from testdata/golden", runExampleModel}
}

func runExampleModel(args []string) error {
	fs := flag.NewFlagSet("example-model", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), exampleModelHelp); fs.PrintDefaults() }
	from := fs.String("from", filepath.Join("testdata", "golden"), "folder of reference files")
	force := fs.Bool("force", false, "write into OUTDIR even if it exists (replacing config.json and model.safetensors)")
	list := fs.Bool("list", false, "list the names of the reference files that hold a model")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		names, err := exampleModels(*from)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(stdout, n)
		}
		return nil
	}
	if fs.NArg() != 2 {
		return errors.New("want NAME and OUTDIR (see -h; -list lists the names)")
	}
	name, dir := fs.Arg(0), fs.Arg(1)
	if err := writeExampleModel(filepath.Join(*from, name+".safetensors"), dir, *force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(dir, "config.json"), filepath.Join(dir, "model.safetensors"))
	return nil
}

// exampleModels lists the reference files in dir that hold a model (a
// timm_model metadata entry), by name without .safetensors.
func exampleModels(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		f, err := tensorfile.Open(p)
		if err != nil {
			return nil, err
		}
		if _, ok := f.Metadata()["timm_model"]; ok {
			out = append(out, strings.TrimSuffix(filepath.Base(p), ".safetensors"))
		}
		f.Close()
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no reference file with a model (timm_model metadata)", dir)
	}
	sort.Strings(out)
	return out, nil
}

// writeExampleModel writes the model of reference file src as a hub
// folder dir.
func writeExampleModel(src, dir string, force bool) error {
	f, err := tensorfile.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, err := exampleConfig(src, f.Metadata())
	if err != nil {
		return err
	}
	ref, err := referenceTensors(src, f.Metadata())
	if err != nil {
		return err
	}
	tensors := map[string]tensorout.Tensor{}
	for _, n := range f.Names() {
		if ref[n] {
			continue
		}
		v, shape, err := f.Float32(n)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		tensors[n] = tensorout.F32(shape, v)
	}
	if _, err := os.Stat(dir); err == nil && !force {
		return fmt.Errorf("%s exists; give -force to write into it", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		return err
	}
	return tensorout.WriteSafetensorsFile(filepath.Join(dir, "model.safetensors"), tensors, nil)
}

// exampleConfig is the config.json of the hub folder: hub_config with
// timm_kwargs as model_args (what timm's push_to_hub records for a model
// built with extra arguments).
func exampleConfig(src string, meta map[string]string) ([]byte, error) {
	model, ok := meta["timm_model"]
	if !ok {
		return nil, fmt.Errorf("%s holds no model (no timm_model metadata)", src)
	}
	hub := map[string]any{"architecture": model}
	if s, ok := meta["hub_config"]; ok {
		hub = nil
		if err := json.Unmarshal([]byte(s), &hub); err != nil {
			return nil, fmt.Errorf("%s: metadata hub_config: %w", src, err)
		}
	}
	if s, ok := meta["timm_kwargs"]; ok {
		var kwargs map[string]any
		if err := json.Unmarshal([]byte(s), &kwargs); err != nil {
			return nil, fmt.Errorf("%s: metadata timm_kwargs: %w", src, err)
		}
		hub["model_args"] = kwargs
	}
	b, err := json.MarshalIndent(hub, "", "  ")
	return append(b, '\n'), err
}

// referenceTensors names the tensors that the file's cases use as inputs
// and outputs: the reference data, not the model's weights.
func referenceTensors(src string, meta map[string]string) (map[string]bool, error) {
	var cases []struct {
		Inputs  []string `json:"inputs"`
		Outputs []string `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(meta["cases"]), &cases); err != nil {
		return nil, fmt.Errorf("%s: metadata cases: %w", src, err)
	}
	ref := map[string]bool{}
	for _, c := range cases {
		for _, n := range append(c.Inputs, c.Outputs...) {
			ref[n] = true
		}
	}
	return ref, nil
}
