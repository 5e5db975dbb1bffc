package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/anyres/anyres/bench"
)

func init() {
	for _, op := range bench.ElementwiseOps {
		what := map[string]string{
			"softmax":   "softmax of N×N attention scores, one row per call (N = 197, 577, 1025, 4097)",
			"layernorm": "layer norm of N×768 activations with weight and bias, one row per call",
			"gelu":      "erf GELU over N×768 activations",
			"gelu_tanh": "tanh GELU over N×768 activations",
			"exp":       "exp over N×768 values",
		}[op]
		benchCommands[op] = command{what + "; elements/ns, GB/s and the ratio to a copy", func(args []string) error {
			return runBenchElementwise(op, args)
		}}
	}
}

func runBenchElementwise(op string, args []string) error {
	fs := flag.NewFlagSet("bench "+op, flag.ContinueOnError)
	rowsFlag := fs.String("n", "", "comma-separated token counts N (default 197,577,1025,4097)")
	cols := fs.Int("cols", 768, "row width for layernorm, gelu, gelu_tanh and exp (softmax rows are N wide)")
	minTime := fs.Duration("time", 300*time.Millisecond, "measure each size at least this long")
	asJSON := fs.Bool("json", false, "one JSON object per line instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes := bench.ElementwiseSizes(op)
	if *rowsFlag != "" {
		sizes = nil
		for _, s := range strings.Split(*rowsFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				return fmt.Errorf("-n: %q is not a positive integer", s)
			}
			c := *cols
			if op == "softmax" {
				c = n
			}
			sizes = append(sizes, [2]int{n, c})
		}
	}
	p := bench.NewPrinter(os.Stdout, *asJSON)
	for _, s := range sizes {
		r, err := bench.ElementwiseBench(op, s[0], s[1], *minTime)
		if err != nil {
			return err
		}
		if err := p.Print(r); err != nil {
			return err
		}
	}
	return nil
}
