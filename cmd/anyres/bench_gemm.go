package main

import (
	"flag"
	"os"
	"time"

	"github.com/anyres/anyres/bench"
)

func init() {
	benchCommands["gemm"] = command{"GFLOP/s of one matrix product (Sgemm, or GemmPacked with -packed)", runBenchGemm}
}

func runBenchGemm(args []string) error {
	fs := flag.NewFlagSet("bench gemm", flag.ContinueOnError)
	m := fs.Int("m", 197, "rows of A and C")
	n := fs.Int("n", 768, "columns of B and C")
	k := fs.Int("k", 768, "columns of A, rows of B")
	threads := fs.Int("threads", 1, "goroutines per call (0 = GOMAXPROCS)")
	packed := fs.Bool("packed", false, "measure GemmPacked with B packed once (a linear layer) instead of Sgemm")
	minTime := fs.Duration("time", 500*time.Millisecond, "measure at least this long")
	asJSON := fs.Bool("json", false, "one JSON object instead of a line of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := bench.Gemm(bench.GemmShape{M: *m, N: *n, K: *k}, bench.GemmOptions{Threads: *threads, Packed: *packed, MinTime: *minTime})
	return bench.NewPrinter(os.Stdout, *asJSON).Print(r)
}
