package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/anyres/anyres/bench"
)

// benchCommands are the subcommands of 'anyres bench'; each kernel family
// adds its own from its file.
var benchCommands = map[string]command{}

func init() {
	commands["bench"] = command{"run the benchmarks (no argument: the main job)", runBench}
}

func runBench(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, ok := benchCommands[args[0]]
		if !ok {
			return fmt.Errorf("unknown benchmark %q (have: %s)", args[0], strings.Join(benchNames(), ", "))
		}
		return sub.run(args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() { benchUsage(fs) }
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := bench.NewPrinter(os.Stdout, *asJSON)
	return bench.Main(out)
}

func benchNames() []string {
	names := make([]string, 0, len(benchCommands))
	for n := range benchCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// benchUsage is bench -h: the main job's flags, then every benchmark with
// what it does (each one's own -h gives its flags).
func benchUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `usage: anyres bench [-json]        the main job: CPU, kernels chosen, GEMM and ViT speed
       anyres bench NAME [flags]     one benchmark (anyres bench NAME -h: its flags)

flags:
`)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nbenchmarks:")
	for _, n := range benchNames() {
		fmt.Fprintf(w, "  %-12s %s\n", n, benchCommands[n].summary)
	}
}
