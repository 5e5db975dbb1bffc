// Command anyres runs Vision Transformers at any image resolution and
// measures the kernels under them.
//
//	anyres info                 the CPU, its features and the kernels chosen
//	anyres bench [what] [-json] the main job: kernel and model benchmarks
//	anyres bench report         the peer comparisons, as the README's results table
//	anyres run                  a timm ViT checkpoint on a photo, at any size
//	anyres serve                a checkpoint over HTTP: KServe v2 REST, POST /image, /metrics
//	anyres resize-checkpoint    a checkpoint rewritten for a new image/patch size
//	anyres posviz               position-embedding similarity as a PNG
//
// docs/commands.md describes each; 'anyres <command> -h' lists its flags.
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/anyres/anyres/kernels"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "help" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "anyres: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	// A bad ANYRES_KERNELS is reported here, once, for every command
	// (package kernels keeps it rather than panic during init).
	if err := kernels.EnvErr(); err != nil {
		fmt.Fprintf(os.Stderr, "anyres %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := cmd.run(os.Args[2:]); errors.Is(err, flag.ErrHelp) {
		return // -h: the flags were listed, as asked
	} else if err != nil {
		fmt.Fprintf(os.Stderr, "anyres %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: anyres <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'anyres <command> -h' for a command's flags.")
}
