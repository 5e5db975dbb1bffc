package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
)

func init() {
	benchCommands["model"] = command{"any checkpoint (file or hub folder) at the sizes given: ms, GFLOP/s, memory", runBenchModel}
	benchCommands["families"] = command{"every family's reference checkpoint (tiny widths, from testdata/golden) at two sizes", runBenchFamilies}
}

func runBenchModel(args []string) error {
	fs := flag.NewFlagSet("bench model", flag.ContinueOnError)
	weights := fs.String("weights", "", "checkpoint: .safetensors file or hub folder")
	config := fs.String("config", "", "timm's config.json for a bare .safetensors file")
	sizes := fs.String("size", "224x224,384x384", "image sizes HxW, comma-separated")
	threads := fs.String("threads", "1,2", "thread counts, comma-separated")
	budget := fs.Duration("time", 3*time.Second, "time to spend per size and thread count (at least 2 runs after a warm-up)")
	maxTokens := fs.Int("max-tokens", 0, "token cap (0: the default, a 2048² image at patch 16)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	dtype := fs.String("dtype", "f32", "number format of the Linear layers: f32, int8 or bf16")
	reduceRange := fs.Bool("reduce-range", false, "with -dtype int8: 7-bit weights (±64, ONNX Runtime's reduce_range), about a fifth faster on CPUs without VNNI or AMX")
	headOnly := fs.Bool("head-only", false, "ask for the pooled feature and logits alone (Output.HeadOnly)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *weights == "" {
		return fmt.Errorf("-weights is required")
	}
	ss, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	ts, err := parseInts(*threads)
	if err != nil {
		return err
	}
	cfg, err := readConfig(*weights, *config)
	if err != nil {
		return err
	}
	m, err := anyres.Load(*weights, anyres.Options{Config: cfg, MaxTokens: *maxTokens, DType: *dtype, ReduceRange: *reduceRange})
	if err != nil {
		return err
	}
	defer m.Close()
	// The token cap, checked before any image is allocated (the forward
	// pass checks it only after the image exists).
	limit := *maxTokens
	if limit <= 0 {
		limit = nn.DefaultMaxTokens
	}
	for _, s := range ss {
		if n := m.Info().Prefix + m.Grid(s[0], s[1]).N(); n > limit {
			return fmt.Errorf("size %dx%d gives %d tokens, over the cap of %d (-max-tokens)", s[0], s[1], n, limit)
		}
	}
	return benchModel(m, filepath.Base(*weights), ss, ts, *headOnly, *budget, bench.NewPrinter(os.Stdout, *asJSON))
}

func benchModel(m anyres.Model, name string, sizes [][2]int, threads []int, headOnly bool, budget time.Duration, p *bench.Printer) error {
	for _, t := range threads {
		mt, err := anyres.WithThreads(m, t)
		if err != nil {
			return err
		}
		for _, s := range sizes {
			r, err := bench.Model(mt, name, s[0], s[1], headOnly, budget)
			if errors.Is(err, anyres.ErrImage) {
				// A size the model does not take (Hiera: multiples of its
				// 32-pixel Info().Patch): the largest whole-patch size
				// below it, else none.
				pt := mt.Info().Patch
				if d := [2]int{s[0] / max(pt[0], 1) * pt[0], s[1] / max(pt[1], 1) * pt[1]}; d != s && d[0] > 0 && d[1] > 0 {
					p.Text("%s %dx%d: not taken, timed at %dx%d\n", name, s[0], s[1], d[0], d[1])
					r, err = bench.Model(mt, name, d[0], d[1], headOnly, budget)
				}
			}
			if errors.Is(err, anyres.ErrImage) {
				p.Text("%s %dx%d: skipped: %v\n", name, s[0], s[1], err)
				continue
			}
			if err != nil {
				return err
			}
			r.Fields["threads"] = t
			if err := p.Print(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func runBenchFamilies(args []string) error {
	fs := flag.NewFlagSet("bench families", flag.ContinueOnError)
	dir := fs.String("golden", "testdata/golden", "folder of the reference files (a checkout's testdata/golden)")
	sizes := fs.String("size", "224x224,448x336", "image sizes HxW, comma-separated")
	threads := fs.String("threads", "1", "thread counts, comma-separated")
	budget := fs.Duration("time", time.Second, "time to spend per size and thread count")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ss, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	ts, err := parseInts(*threads)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(*dir, "*.safetensors"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	p := bench.NewPrinter(os.Stdout, *asJSON)
	p.Text("Each family's reference checkpoint (tiny widths, random weights: see testdata/golden/README.md), median ms\n")
	for _, path := range files {
		hub, ok := hubConfigOf(path)
		if !ok {
			continue
		}
		m, err := anyres.Load(path, anyres.Options{Config: hub, Ignore: isReference})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(path), err)
			continue
		}
		err = benchModel(m, strings.TrimSuffix(filepath.Base(path), ".safetensors"), ss, ts, false, *budget, p)
		m.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// hubConfigOf returns a reference file's hub_config with the model's
// build arguments as model_args, as timm writes config.json.
func hubConfigOf(path string) ([]byte, bool) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	md := f.Metadata()
	hub, ok := md["hub_config"]
	if !ok {
		return nil, false
	}
	if args, ok := md["timm_kwargs"]; ok {
		hub = strings.TrimSuffix(strings.TrimSpace(hub), "}") + `, "model_args": ` + args + "}"
	}
	return []byte(hub), true
}

// isReference: the reference inputs and outputs stored beside the weights.
func isReference(name string) bool {
	for _, p := range []string{"in_", "features_", "logits_", "naflex_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
