package main

import (
	"flag"
	"os"

	"github.com/anyres/anyres/bench"
)

func init() {
	benchCommands["posenc"] = command{"position encodings: relative-bias gather+add, RoPE, PEG at every kernel level", runBenchPosEnc}
}

func runBenchPosEnc(args []string) error {
	fs := flag.NewFlagSet("bench posenc", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	minTime := fs.Duration("time", 200e6, "minimum time of each repeat")
	repeats := fs.Int("repeats", 5, "repeats per case and level; the median is printed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return bench.PosEnc(bench.NewPrinter(os.Stdout, *asJSON), *minTime, *repeats)
}
