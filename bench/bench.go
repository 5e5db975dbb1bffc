// Package bench measures anyres: kernel and model benchmarks that the
// anyres command runs and prints, as a table for people or as one JSON object
// per line for machines. bench/peers holds the scripts that measure the same
// work in OpenBLAS and PyTorch in the same run.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anyres/anyres/kernels"
)

// Result is one measurement. Kind names the benchmark ("gemm", "vit", ...);
// Fields hold its parameters and figures (e.g. "m", "gflops", "ms").
type Result struct {
	Kind   string
	Fields map[string]any
}

// Printer writes results as JSON lines or as aligned text.
type Printer struct {
	w    io.Writer
	json bool
}

// NewPrinter returns a printer to w; asJSON selects one JSON object per line.
func NewPrinter(w io.Writer, asJSON bool) *Printer { return &Printer{w: w, json: asJSON} }

// JSON reports whether the printer writes JSON lines.
func (p *Printer) JSON() bool { return p.json }

// Print writes one result.
func (p *Printer) Print(r Result) error {
	obj := map[string]any{"bench": r.Kind}
	for k, v := range r.Fields {
		obj[k] = v
	}
	if p.json {
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, r.Fields[k]))
	}
	_, err := fmt.Fprintf(p.w, "%-10s %s\n", r.Kind, strings.Join(parts, " "))
	return err
}

// Text writes a line for people; JSON printers skip it.
func (p *Printer) Text(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.w, format, args...)
	}
}

// Main is the main job: what 'anyres bench' runs with no arguments. It
// shows the CPU and the kernels chosen, then each registered benchmark of the
// main job in turn.
func Main(p *Printer) error {
	info := kernels.Info()
	if p.json {
		if err := p.Print(Result{Kind: "info", Fields: map[string]any{"cpu": info.CPU, "level": info.Level, "why": info.Why}}); err != nil {
			return err
		}
	} else {
		p.Text("anyres bench on %s (%s), kernels: %s (%s)\n", info.CPU, info.Arch, info.Level, info.Why)
	}
	start := time.Now()
	for i, step := range mainSteps {
		// Progress on standard error, so that it never mixes into -json output.
		fmt.Fprintf(progress, "[%d/%d] %s …\n", i+1, len(mainSteps), step.name)
		t0 := time.Now()
		if err := step.run(p); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		fmt.Fprintf(progress, "[%d/%d] %s done in %s\n", i+1, len(mainSteps), step.name, time.Since(t0).Round(100*time.Millisecond))
	}
	fmt.Fprintf(progress, "main job done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// progress receives the main job's progress lines (tests silence it).
var progress io.Writer = os.Stderr

// mainStep is one part of the main job, added by the file that owns it.
type mainStep struct {
	name  string
	order int
	run   func(p *Printer) error
}

var mainSteps []mainStep

// addMainStep registers a part of the main job; steps run by order.
func addMainStep(name string, order int, run func(p *Printer) error) {
	mainSteps = append(mainSteps, mainStep{name, order, run})
	sort.SliceStable(mainSteps, func(i, j int) bool { return mainSteps[i].order < mainSteps[j].order })
}

// round rounds x to the given number of decimal places, for readable JSON.
func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
