package main

import (
	"flag"
	"os"
	"strings"
	"time"

	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/kernels"
)

func init() {
	benchCommands["resample"] = command{
		"resample position tables (14×14×768→64×64, 24×24×1024→37×23; bicubic+antialias, bilinear, Fourier) per kernel level, and FlexiViT patch-kernel resizes",
		runBenchResample,
	}
}

func runBenchResample(args []string) error {
	fs := flag.NewFlagSet("bench resample", flag.ContinueOnError)
	levelsFlag := fs.String("levels", "all", "comma-separated kernel levels, all (every level this CPU and ANYRES_KERNELS allow) or best")
	threads := fs.Int("threads", 1, "goroutines per resample (0: GOMAXPROCS)")
	minTime := fs.Duration("time", 300*time.Millisecond, "measure each case at least this long")
	patch := fs.Bool("patch", true, "also time FlexiViT patch-kernel resizes")
	asJSON := fs.Bool("json", false, "one JSON object per line instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var levels []kernels.Level
	switch *levelsFlag {
	case "all":
	case "best":
		levels = []kernels.Level{kernels.Active()}
	default:
		for _, s := range strings.Split(*levelsFlag, ",") {
			l, err := kernels.ParseLevel(s)
			if err != nil {
				return err
			}
			levels = append(levels, l)
		}
	}
	return bench.Resample(bench.NewPrinter(os.Stdout, *asJSON), levels, *threads, *minTime, *patch)
}
