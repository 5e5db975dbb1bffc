package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchHelpListsDocs: bench -h lists every benchmark that
// docs/commands.md tells the reader to ask it about, and every registered
// one.
func TestBenchHelpListsDocs(t *testing.T) {
	var buf bytes.Buffer
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(&buf)
	fs.Bool("json", false, "")
	benchUsage(fs)
	help := buf.String()
	doc, err := os.ReadFile(filepath.Join(docsRoot, "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`bench ([a-z_]+)").FindAllStringSubmatch(string(doc), -1)
	if len(named) == 0 {
		t.Fatal("docs/commands.md names no benchmark")
	}
	for _, m := range named {
		if _, ok := benchCommands[m[1]]; !ok {
			t.Errorf("docs/commands.md names bench %s, which is no benchmark", m[1])
		}
		if !regexp.MustCompile(`(?m)^  ` + m[1] + ` `).MatchString(help) {
			t.Errorf("bench -h does not list %s:\n%s", m[1], help)
		}
	}
	for n := range benchCommands {
		if !strings.Contains(help, "  "+n+" ") {
			t.Errorf("bench -h does not list %s", n)
		}
	}
	if err := runBench([]string{"-h"}); err != flag.ErrHelp {
		t.Errorf("bench -h: %v, want flag.ErrHelp (exit 0)", err)
	}
}

// TestReproduceLine: bench report's "Reproduce with" line names the
// -readme (and -out) paths it was given, quoted for a shell.
func TestReproduceLine(t *testing.T) {
	for _, c := range []struct {
		readme, out string
		args        map[string][]string
		only        []string
		want        string
	}{
		{"docs/results.md", "", nil, nil, "go run ./cmd/anyres bench report -readme docs/results.md"},
		{"", "my results.md", nil, nil, "go run ./cmd/anyres bench report -out 'my results.md'"},
		{"R.md", "", map[string][]string{"vit_torch.py": {"--sizes", "224x224"}}, nil, "go run ./cmd/anyres bench report -readme R.md -args 'vit_torch.py=--sizes 224x224'"},
		{"", "f.md", nil, []string{"family_onnxruntime.py"}, "go run ./cmd/anyres bench report -out f.md -only family_onnxruntime.py"},
		{"it's.md", "", nil, nil, `go run ./cmd/anyres bench report -readme 'it'\''s.md'`},
	} {
		if got := reproduceLine(c.readme, c.out, c.args, c.only); got != c.want {
			t.Errorf("reproduceLine(%q, %q, %v) = %s, want %s", c.readme, c.out, c.args, got, c.want)
		}
	}
}

// TestBenchReportOnlyFlag: -only refuses names that are not script names,
// and -readme, whose section would lose the other scripts' tables.
func TestBenchReportOnlyFlag(t *testing.T) {
	for _, args := range [][]string{
		{"-only", "family_onnxruntime.py", "-readme", "README.md"},
		{"-only", "../x.py"},
		{"-only", "family_onnxruntime"},
	} {
		if err := runBenchReport(args); err == nil || !strings.Contains(err.Error(), "-only") {
			t.Errorf("bench report %v: err %v, want one naming -only", args, err)
		}
	}
}
