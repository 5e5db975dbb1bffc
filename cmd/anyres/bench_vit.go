package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/nn"
)

func init() {
	benchCommands["vit"] = command{"ViT-B/16 forward at any size: ms, GFLOP/s, memory; -dtype f32|bf16|int8; -pack: packed vs padded batch", runBenchViT}
}

func runBenchViT(args []string) error {
	fs := flag.NewFlagSet("bench vit", flag.ContinueOnError)
	sizes := fs.String("size", "224x224,384x384,518x392,1024x1024", "image sizes HxW, comma-separated")
	threads := fs.String("threads", "1,2", "thread counts, comma-separated")
	budget := fs.Duration("time", 3*time.Second, "time to spend per size and thread count (at least 2 runs after a warm-up)")
	pack := fs.Bool("pack", false, "time the sizes packed into one sequence against padding them all to the largest")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	dtype := fs.String("dtype", "f32", "number format of the Linear layers: f32, bf16 or int8 (not with -pack)")
	reduceRange := fs.Bool("reduce-range", false, "with -dtype int8: 7-bit weights (±64, ONNX Runtime's reduce_range), faster on the AVX2 int8 kernel")
	headOnly := fs.Bool("head-only", false, "ask for the logits alone (Output.HeadOnly: the last block runs on the class token; not with -pack)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dt, err := nn.ParseDType(*dtype)
	if err != nil {
		return err
	}
	prec := nn.Precision{DType: dt, ReduceRange: *reduceRange}
	if err := prec.Check(); err != nil {
		return err
	}
	if *pack && dt != nn.F32 {
		return fmt.Errorf("-pack times float32 only, not -dtype %s", dt)
	}
	if *pack && *headOnly {
		return fmt.Errorf("-pack times whole outputs; -head-only is for single images")
	}
	ss, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	ts, err := parseInts(*threads)
	if err != nil {
		return err
	}
	p := bench.NewPrinter(os.Stdout, *asJSON)
	for _, t := range ts {
		if *pack {
			r, err := bench.ViTPack(ss, t, *budget)
			if err != nil {
				return err
			}
			if err := p.Print(r); err != nil {
				return err
			}
			continue
		}
		for _, s := range ss {
			r, err := bench.ViT(s[0], s[1], t, prec, *headOnly, *budget)
			if err != nil {
				return err
			}
			if err := p.Print(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseSizes(s string) ([][2]int, error) {
	var out [][2]int
	for _, f := range strings.Split(s, ",") {
		h, w, ok := strings.Cut(strings.TrimSpace(f), "x")
		hi, err1 := strconv.Atoi(h)
		wi, err2 := strconv.Atoi(w)
		if !ok || err1 != nil || err2 != nil || hi <= 0 || wi <= 0 {
			return nil, fmt.Errorf("size %q: want HxW, e.g. 518x392", f)
		}
		// The image limits (side, pixels) hold here too: a size is
		// refused before its image is allocated.
		if _, err := imageprep.ParseSize(f); err != nil {
			return nil, err
		}
		out = append(out, [2]int{hi, wi})
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("thread count %q: want a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
