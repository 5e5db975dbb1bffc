package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/anyres/anyres/bench"
)

func init() {
	benchCommands["peak"] = command{"each kernel level's float32 FMA peak of one thread (a tight FMA loop), GFLOP/s", runBenchPeak}
}

func runBenchPeak(args []string) error {
	fs := flag.NewFlagSet("bench peak", flag.ContinueOnError)
	minTime := fs.Duration("time", 200*time.Millisecond, "measure each level at least this long (its best chunk counts)")
	asJSON := fs.Bool("json", false, "one JSON object per level instead of lines of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	rs, err := bench.Peaks(*minTime)
	if err != nil {
		return err
	}
	p := bench.NewPrinter(os.Stdout, *asJSON)
	for _, r := range rs {
		if err := p.Print(r); err != nil {
			return err
		}
	}
	return nil
}
