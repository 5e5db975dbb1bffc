package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

func init() {
	benchCommands["report"] = command{"run the peer scripts (OpenBLAS, PyTorch, ONNX Runtime) and write the results tables of docs/results.md", runBenchReport}
}

const benchReportHelp = `usage: anyres bench report [-readme docs/results.md] [-out results.md] [-args 'script.py=ARGS'] [-only script.py,...] [-timeout 40m]

Runs each peer script in bench/peers (python3; each installs its own Debian
packages and measures the peer and anyres side by side in the same run),
and writes their results as markdown tables headed by the machine they ran
on (CPU, cores, kernel level, date). With -readme, rewrites the results
section of that markdown file (between the bench-report markers; the
repository's is docs/results.md) in place. -only runs some of the scripts
(e.g. family_onnxruntime.py) into -out or standard output. Run it from
the module root.

flags:
`

func runBenchReport(args []string) error {
	fs := flag.NewFlagSet("bench report", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchReportHelp); fs.PrintDefaults() }
	readme := fs.String("readme", "", "markdown file (docs/results.md) whose section between the bench-report markers to rewrite")
	out := fs.String("out", "", "markdown file to write (default: standard output)")
	peers := fs.String("peers", "", "folder of peer scripts (default: bench/peers under the module root)")
	timeout := fs.Duration("timeout", 40*time.Minute, "time limit per script (vit_onnxruntime.py runs anyres in three dtypes: about 20 minutes on a 2-core machine)")
	peerArgs := map[string][]string{}
	fs.Func("args", "extra arguments for one script, `script.py=ARGS` (repeatable), e.g. 'vit_torch.py=--sizes 224x224,384x384'", func(v string) error {
		name, args, ok := strings.Cut(v, "=")
		if !ok || !strings.HasSuffix(name, ".py") {
			return fmt.Errorf("want script.py=ARGS, got %q", v)
		}
		peerArgs[name] = append(peerArgs[name], strings.Fields(args)...)
		return nil
	})
	only := fs.String("only", "", "run only these peer scripts, `script.py,...` (not with -readme, whose section holds every script)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var onlyScripts []string
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if !strings.HasSuffix(s, ".py") || strings.ContainsAny(s, `/\`) {
				return fmt.Errorf("-only: want script names like family_onnxruntime.py, got %q", s)
			}
			onlyScripts = append(onlyScripts, s)
		}
	}
	if len(onlyScripts) > 0 && *readme != "" {
		return errors.New("-only with -readme would leave the README's section with only those scripts: write -out instead")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir := *peers
	if dir == "" {
		dir = filepath.Join(root, "bench", "peers")
	}
	var doc []byte
	if *readme != "" { // check the README before spending minutes measuring
		if doc, err = tensorfile.ReadFileLimit(*readme, tensorfile.MaxConfigBytes, "README"); err != nil {
			return err
		}
		if _, err := bench.ReplaceSection(string(doc), ""); err != nil {
			return fmt.Errorf("%s: %w", *readme, err)
		}
	}
	if *out != "" {
		// The README is rewritten in place on purpose; -out is a new file.
		if err := tensorout.CheckNotInput(*out, *readme); err != nil {
			return err
		}
		if err := tensorout.CheckWritable(*out); err != nil {
			return err
		}
	}
	machine := bench.ThisMachine() // before the peers load it
	results := bench.RunPeers(context.Background(), root, dir, bench.PeerOptions{Timeout: *timeout, Args: peerArgs, Progress: os.Stderr, Only: onlyScripts})
	reproduce := reproduceLine(*readme, *out, peerArgs, onlyScripts)
	md := bench.Markdown(machine, results, reproduce)
	switch {
	case *out != "":
		if err := tensorout.WriteFile(*out, func(w io.Writer) error { _, err := io.WriteString(w, md); return err }); err != nil {
			return err
		}
	case *readme == "":
		fmt.Print(md)
	}
	if *readme != "" {
		updated, err := bench.ReplaceSection(string(doc), md)
		if err != nil {
			return err
		}
		if err := tensorout.WriteFile(*readme, func(w io.Writer) error { _, err := io.WriteString(w, updated); return err }); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "updated the results section of %s\n", *readme)
	}
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("%s failed (its note is in the report): %w", r.Script, r.Err)
		}
	}
	return nil
}

// moduleRoot is the nearest folder above the working directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it inside the anyres module (no go.mod above the working directory)")
		}
		dir = parent
	}
}

// shellQuote writes s for a POSIX shell: as it is when it holds only safe
// characters, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// reproduceLine is the report's "Reproduce with" command: the one given,
// with the -readme (or -out) path it wrote, not a fixed README.md.
func reproduceLine(readme, out string, peerArgs map[string][]string, only []string) string {
	line := "go run ./cmd/anyres bench report"
	if readme != "" {
		line += " -readme " + shellQuote(readme)
	}
	if out != "" {
		line += " -out " + shellQuote(out)
	}
	for _, name := range slices.Sorted(maps.Keys(peerArgs)) {
		line += " -args " + shellQuote(name+"="+strings.Join(peerArgs[name], " "))
	}
	if len(only) > 0 {
		line += " -only " + shellQuote(strings.Join(only, ","))
	}
	return line
}
