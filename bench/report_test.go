package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePeerOutput(t *testing.T) {
	rows, text := ParsePeerOutput(`installing python3-numpy
{"bench": "gemm", "m": 197, "threads": 1, "openblas_gflops": 101.25, "anyres_gflops": 95.5, "ratio": 0.943}
{"bench": "gemm", "m": 785, "threads": 2, "openblas_gflops": 190.1, "anyres_gflops": 201, "ratio": 1.057}
{not json
done
`)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if got := strings.Join(rows[0].Keys, ","); got != "bench,m,threads,openblas_gflops,anyres_gflops,ratio" {
		t.Errorf("key order %s", got)
	}
	if text != "installing python3-numpy\n{not json\ndone" {
		t.Errorf("text %q", text)
	}
	md := Markdown(Machine{CPU: "Test CPU", Cores: 2, Arch: "linux/amd64", Level: "avx512", Go: "go1.26", Date: "2026-01-02"},
		[]PeerResult{{Script: "gemm_openblas.py", Rows: rows, Elapsed: 3 * time.Second}, {Script: "vit_torch.py", Skipped: "not present"}},
		"go run ./cmd/anyres bench report")
	for _, want := range []string{
		"Measured 2026-01-02 on Test CPU, 2 logical CPUs, linux/amd64, anyres kernels: avx512",
		"| m | threads | openblas_gflops | anyres_gflops | ratio |",
		"| 197 | 1 | 101 | 95.5 | 0.94 |",
		"| 785 | 2 | 190 | 201 | 1.06 |",
		"**vit_torch.py**: skipped (not present).",
		"Reproduce with `go run ./cmd/anyres bench report`.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestRunPeers(t *testing.T) {
	if _, err := exec.LookPath(Python()); err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gemm_openblas.py"), []byte(`import sys
assert sys.argv[1:] == ["--json"], sys.argv
print("OpenBLAS 0.3.21")
print('{"bench": "gemm", "ratio": 1.5}')
`), 0o644)
	os.WriteFile(filepath.Join(dir, "vit_torch.py"), []byte(`import argparse
p = argparse.ArgumentParser()
p.add_argument("--sizes")
p.parse_args()
import sys
assert sys.argv[1:] == ["--sizes", "224x224"], sys.argv
print("text only")
`), 0o644)
	os.WriteFile(filepath.Join(dir, "zz_lib.py"), []byte("X = 1\n"), 0o644) // a shared module, not a script
	os.WriteFile(filepath.Join(dir, "zz_extra.py"), []byte("#!/usr/bin/env python3\nimport sys\nprint('oops', file=sys.stderr)\nsys.exit(3)\n"), 0o644)
	res := RunPeers(context.Background(), dir, dir, PeerOptions{Timeout: time.Minute, Args: map[string][]string{"vit_torch.py": {"--sizes", "224x224"}}})
	byName := map[string]PeerResult{}
	for _, r := range res {
		byName[r.Script] = r
	}
	if r := byName["gemm_openblas.py"]; r.Err != nil || len(r.Rows) != 1 {
		t.Errorf("gemm_openblas.py: %+v", r)
	}
	if r := byName["vit_torch.py"]; r.Err != nil || r.Text != "text only" || r.Args != "--sizes 224x224" {
		t.Errorf("vit_torch.py (no --json flag) should run again without it: %+v", r)
	}
	if r := byName["elementwise_torch.py"]; r.Skipped == "" {
		t.Errorf("elementwise_torch.py should be skipped: %+v", r)
	}
	if r := byName["zz_extra.py"]; r.Err == nil || !strings.Contains(r.Err.Error(), "oops") {
		t.Errorf("zz_extra.py: err %v, want its stderr", r.Err)
	}
	if len(res) != len(PeerScripts)+1 {
		t.Errorf("%d results, want %d", len(res), len(PeerScripts)+1)
	}
	res = RunPeers(context.Background(), dir, dir, PeerOptions{Timeout: time.Minute, Only: []string{"gemm_openblas.py", "nope.py"}})
	if len(res) != 2 || res[0].Script != "gemm_openblas.py" || len(res[0].Rows) != 1 || res[1].Skipped == "" {
		t.Errorf("Only: got %+v, want gemm_openblas.py run and nope.py skipped", res)
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "# x\n\n" + BeginMarker + "\nold\n" + EndMarker + "\nafter\n"
	got, err := ReplaceSection(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# x\n\n" + BeginMarker + "\nnew table\n" + EndMarker + "\nafter\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReplaceSection("no markers", "x"); err == nil {
		t.Error("no error without markers")
	}
}

func TestCell(t *testing.T) {
	rows, _ := ParsePeerOutput(`{"a": 0.0012345, "b": "x|y", "c": null, "d": [1,2], "e": 0}`)
	r := rows[0]
	for k, want := range map[string]string{"a": "0.00123", "b": `x\|y`, "c": "", "d": "[1,2]", "e": "0"} {
		if got := cell(r.Vals[k]); got != want {
			t.Errorf("cell(%s) = %q, want %q", k, got, want)
		}
	}
}

// Cosines keep the digits their peer printed: rounded like other numbers
// every int8 cosine of vit_onnxruntime_int8.py reads 1.00.
func TestColumnCellCosine(t *testing.T) {
	rows, _ := ParsePeerOutput(`{"ort_cos": 0.99986, "f32_cos_anyres_ort": 0.999999, "cost_ms": 0.99986, "ratio": 1.3081}`)
	r := rows[0]
	for k, want := range map[string]string{"ort_cos": "0.99986", "f32_cos_anyres_ort": "0.999999", "cost_ms": "1.00", "ratio": "1.31"} {
		if got := columnCell(k, r.Vals[k]); got != want {
			t.Errorf("columnCell(%s) = %q, want %q", k, got, want)
		}
	}
}

// The results of a peer script, as JSON lines, become a markdown table.
func ExampleMarkdown() {
	rows, text := ParsePeerOutput(`OpenBLAS 0.3.21 vs anyres Sgemm
{"m": 197, "n": 2304, "k": 768, "threads": 1, "anyres_gflops": 101.5, "openblas_gflops": 98.2, "ratio": 1.034}
`)
	m := Machine{CPU: "AMD EPYC", Cores: 2, Arch: "linux/amd64", Level: "avx512", Go: "go1.26.0", Date: "2026-11-27"}
	fmt.Print(Markdown(m, []PeerResult{{Script: "gemm_openblas.py", Rows: rows, Text: text, Elapsed: 42 * time.Second}},
		"go run ./cmd/anyres bench report -readme README.md"))
	// Output:
	// Measured 2026-11-27 on AMD EPYC, 2 logical CPUs, linux/amd64, anyres kernels: avx512, go1.26.0.
	//
	// **gemm_openblas.py** (42s)
	//
	// OpenBLAS 0.3.21 vs anyres Sgemm
	//
	// | m | n | k | threads | anyres_gflops | openblas_gflops | ratio |
	// |---|---|---|---|---|---|---|
	// | 197 | 2304 | 768 | 1 | 102 | 98.2 | 1.03 |
	//
	// Reproduce with `go run ./cmd/anyres bench report -readme README.md`.
}

// A script that printed text and no rows (here: why it did not run) gets
// its text as a code block marked as output, which the docs test accepts.
func TestMarkdownTextBlockIsMarked(t *testing.T) {
	rows, text := ParsePeerOutput("not run: no timm\n")
	got := Markdown(Machine{CPU: "x", Cores: 2}, []PeerResult{{Script: "family_onnxruntime.py", Rows: rows, Text: text}}, "cmd")
	if want := "<!-- not run: what the script printed -->\n```\nnot run: no timm\n```\n"; !strings.Contains(got, want) {
		t.Errorf("got\n%s\nwant it to contain\n%s", got, want)
	}
}
