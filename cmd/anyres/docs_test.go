package main

import (
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The code blocks of README.md and docs/*.md are tested here, so what a
// newcomer copies works:
//
//   - a Go block must be the body (or a run of lines of the body) of an
//     Example function in the repository's tests, which `go test` runs
//     with its output checked;
//   - in a shell block every `go run ./cmd/anyres ...` or `anyres ...`
//     line must name a subcommand and only flags it defines (flags taking
//     a value get one); a line that runs offline on the repository's
//     files (every path it names exists) is run through the command's
//     entry, unless -short;
//   - a usage synopsis (a line with `[...]`, `<...>` or `(a | b)`) is
//     checked for its subcommand and flag names only;
//   - a block with any other command (go get, ./test.sh, cross builds)
//     must follow a `<!-- not run: reason -->` line; its anyres lines are
//     still checked for flags. Nothing is skipped silently.

const docsRoot = "../.."

// docBlock is one fenced code block.
type docBlock struct {
	file   string
	line   int    // of the opening fence
	lang   string // after the fence: "go", "" ...
	notRun string // the reason of a <!-- not run: ... --> just before it
	lines  []string
}

var notRunRe = regexp.MustCompile(`^<!-- not run: (.+) -->$`)

func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	files := []string{filepath.Join(docsRoot, "README.md")}
	more, err := filepath.Glob(filepath.Join(docsRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	var blocks []docBlock
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cur *docBlock
		prev := ""
		for i, l := range strings.Split(string(b), "\n") {
			trim := strings.TrimSpace(l)
			switch {
			case cur == nil && strings.HasPrefix(trim, "```"):
				cur = &docBlock{file: strings.TrimPrefix(f, docsRoot+"/"), line: i + 1, lang: strings.TrimPrefix(trim, "```")}
				if m := notRunRe.FindStringSubmatch(prev); m != nil {
					cur.notRun = m[1]
				}
			case cur != nil && trim == "```":
				blocks = append(blocks, *cur)
				cur = nil
			case cur != nil:
				cur.lines = append(cur.lines, l)
			}
			if trim != "" {
				prev = trim
			}
		}
		if cur != nil {
			t.Errorf("%s:%d: code block never closed", cur.file, cur.line)
		}
	}
	if len(blocks) == 0 {
		t.Fatal("no code blocks found in README.md and docs/")
	}
	return blocks
}

func TestDocsGoBlocks(t *testing.T) {
	examples := exampleBodies(t)
	n := 0
	for _, b := range docBlocks(t) {
		if b.lang != "go" {
			continue
		}
		n++
		if b.notRun != "" {
			t.Errorf("%s:%d: a Go block must be an Example, not marked not run", b.file, b.line)
			continue
		}
		want := codeLines(b.lines)
		found := false
		for _, body := range examples {
			if containsRun(body, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s:%d: this Go block is not the code of any Example function (keep the two the same)", b.file, b.line)
		}
	}
	if n == 0 {
		t.Error("no Go blocks found: README.md's snippet is gone?")
	}
}

// exampleBodies returns the code lines of every Example function in the
// repository's test files.
func exampleBodies(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	fset := token.NewFileSet()
	err := filepath.WalkDir(docsRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != docsRoot {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Example") || fn.Body == nil {
				continue
			}
			body := src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]
			out = append(out, codeLines(strings.Split(string(body), "\n")))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no Example functions found")
	}
	return out
}

// codeLines drops blank lines, whole-line comments and trailing comments,
// and trims each line, so a block matches its Example whatever the
// indentation and the remarks.
func codeLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if i := strings.Index(l, "//"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// containsRun reports whether want appears in body as consecutive lines.
func containsRun(body, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(body); i++ {
		ok := true
		for j := range want {
			if body[i+j] != want[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// docCommand is one anyres command line of a shell block (continuation
// lines of a synopsis joined to it).
type docCommand struct {
	where    string
	args     []string // after "anyres" / "go run ./cmd/anyres"
	synopsis bool
}

var synopsisRe = regexp.MustCompile(`[\[<]|\(-|\|`)

// shellCommands splits a shell block into its anyres commands and reports
// whether it has other commands.
func shellCommands(b docBlock) (cmds []docCommand, other []string) {
	for i, l := range b.lines {
		code := l
		if j := strings.Index(code, " #"); j >= 0 {
			code = code[:j]
		}
		code = strings.TrimSpace(code)
		where := b.file + ":" + strconv.Itoa(b.line+1+i)
		switch {
		case code == "" || strings.HasPrefix(code, "#"):
		case strings.HasPrefix(l, " ") && len(cmds) > 0 && cmds[len(cmds)-1].synopsis:
			// a synopsis continued on an indented line
			c := &cmds[len(cmds)-1]
			c.args = append(c.args, strings.Fields(code)...)
		case strings.HasPrefix(code, "go run ./cmd/anyres "), strings.HasPrefix(code, "anyres "):
			rest := strings.TrimPrefix(strings.TrimPrefix(code, "go run ./cmd/anyres "), "anyres ")
			cmds = append(cmds, docCommand{where: where, args: shellFields(rest), synopsis: synopsisRe.MatchString(rest)})
		default:
			other = append(other, where+": "+code)
		}
	}
	return cmds, other
}

// shellFields splits a command line as the shell would for the simple
// lines of the docs: on blanks, with '...' and "..." quoting.
func shellFields(s string) []string {
	var out []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func TestDocsShellBlocks(t *testing.T) {
	flagsOf := map[string]map[string]bool{} // subcommand → flag → takes a value
	nCmds, nRun := 0, 0
	for _, b := range docBlocks(t) {
		if b.lang == "go" {
			continue
		}
		if b.lang != "" && b.lang != "sh" && b.lang != "bash" && b.lang != "shell" {
			t.Errorf("%s:%d: code block of unknown kind %q", b.file, b.line, b.lang)
			continue
		}
		cmds, other := shellCommands(b)
		if len(other) > 0 && b.notRun == "" {
			t.Errorf("%s:%d: block has commands this test cannot check (%s); mark it <!-- not run: reason --> if it must stay", b.file, b.line, strings.Join(other, "; "))
		}
		if len(cmds) == 0 && b.notRun == "" {
			t.Errorf("%s:%d: block has no anyres command and no <!-- not run: reason --> mark", b.file, b.line)
		}
		for _, c := range cmds {
			nCmds++
			name, args := c.args[0], c.args[1:]
			if name == "bench" && len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.ContainsAny(args[0], "<[") {
				name, args = "bench "+args[0], args[1:]
			}
			flags, ok := flagsOf[name]
			if !ok {
				var err error
				if flags, err = commandFlags(name); err != nil {
					t.Errorf("%s: anyres %s: %v", c.where, name, err)
					continue
				}
				flagsOf[name] = flags
			}
			if c.synopsis {
				checkSynopsis(t, c, name, flags)
				continue
			}
			if !checkFlags(t, c, name, args, flags) || b.notRun != "" {
				continue
			}
			if runnable(name, args) {
				nRun++
				if testing.Short() {
					continue // the flags are checked; TestRunExampleModels runs the folders small
				}
				runDocCommand(t, c, name, args)
			}
		}
	}
	t.Logf("%d anyres command lines checked, %d of them run offline (not under -short)", nCmds, nRun)
	if nCmds == 0 {
		t.Fatal("no anyres commands found in the docs")
	}
	if nRun == 0 {
		t.Error("no doc command runs offline: the README's demo is gone?")
	}
}

// commandFlags returns a subcommand's flags, read from its -h output (the
// FlagSet's PrintDefaults), with whether each takes a value.
func commandFlags(name string) (map[string]bool, error) {
	parts := strings.Fields(name)
	cmd, ok := commands[parts[0]]
	if !ok {
		return nil, errors.New("no such subcommand")
	}
	args := append(parts[1:], "-h")
	out, err := capturedStderr(func() error { return cmd.run(args) })
	if !errors.Is(err, flag.ErrHelp) {
		return nil, errors.New("-h did not print the flags: " + errString(err))
	}
	flags := map[string]bool{}
	re := regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9_-]*)( (\S+))?(\t|$)`)
	for l := range strings.SplitSeq(out, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			flags[m[1]] = m[3] != ""
		}
	}
	flags["h"], flags["help"] = false, false
	return flags, nil
}

var flagRe = regexp.MustCompile(`(?:^|[\s\[(|])-([A-Za-z][A-Za-z0-9_-]*)`)

// checkSynopsis checks the flag names of a usage line.
func checkSynopsis(t *testing.T, c docCommand, name string, flags map[string]bool) {
	t.Helper()
	for _, m := range flagRe.FindAllStringSubmatch(" "+strings.Join(c.args[1:], " "), -1) {
		if _, ok := flags[m[1]]; !ok {
			t.Errorf("%s: anyres %s has no flag -%s", c.where, name, m[1])
		}
	}
}

// checkFlags checks a concrete command line's flags and that every flag
// that takes a value has one.
func checkFlags(t *testing.T, c docCommand, name string, args []string, flags map[string]bool) bool {
	t.Helper()
	ok := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue // a positional argument
		}
		f, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takes, known := flags[f]
		switch {
		case !known:
			t.Errorf("%s: anyres %s has no flag -%s", c.where, name, f)
			ok = false
		case takes && !hasValue:
			if i+1 >= len(args) {
				t.Errorf("%s: -%s needs a value", c.where, f)
				ok = false
			}
			i++
		}
	}
	return ok
}

// runnable reports whether a doc command runs offline and quickly: a
// `run` whose -weights and -image name files in the repository.
func runnable(name string, args []string) bool {
	if name != "run" {
		return false
	}
	n := 0
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-weights" || args[i] == "-image" {
			if _, err := os.Stat(filepath.Join(docsRoot, args[i+1])); err != nil {
				return false
			}
			n++
		}
	}
	return n == 2
}

// runDocCommand runs a doc command through the command's entry, from the
// repository root as the docs do.
func runDocCommand(t *testing.T, c docCommand, name string, args []string) {
	t.Helper()
	t.Chdir(docsRoot)
	defer t.Chdir(filepath.Join("cmd", "anyres"))
	out, err := captured(func() error { return commands[name].run(args) })
	if err != nil {
		t.Errorf("%s: anyres %s: %v", c.where, strings.Join(c.args, " "), err)
	} else if strings.TrimSpace(out) == "" {
		t.Errorf("%s: anyres %s printed nothing", c.where, strings.Join(c.args, " "))
	}
}

// TestDocsDemoCoversHub checks that the README's offline demo runs every
// folder of testdata/hub.
func TestDocsDemoCoversHub(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(docsRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(string(b), "-weights testdata/hub/"+e.Name()+" ") {
			t.Errorf("README.md's demo does not run testdata/hub/%s", e.Name())
		}
	}
}

// capturedStderr runs fn with os.Stderr sent to a temporary file (not a
// pipe: wasip1 has none) and returns what it wrote.
func capturedStderr(fn func() error) (string, error) {
	f, err := os.CreateTemp("", "anyres-stderr")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	old := os.Stderr
	os.Stderr = f
	err = fn()
	os.Stderr = old
	b, rerr := os.ReadFile(f.Name())
	if rerr != nil {
		return "", rerr
	}
	return string(b), err
}

func errString(err error) string {
	if err == nil {
		return "it ran instead"
	}
	return err.Error()
}
