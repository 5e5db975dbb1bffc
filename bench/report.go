package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anyres/anyres/kernels"
)

// Machine says where a report's figures were measured.
type Machine struct {
	CPU   string // model name, from CPUID
	Cores int    // logical CPUs the Go runtime sees
	Arch  string // GOOS/GOARCH
	Level string // the kernel level anyres chose (ANYRES_KERNELS may lower it)
	Go    string // Go version
	Date  string // UTC, YYYY-MM-DD
	Load  string // 1-minute load average when measuring started (Linux), "" if unknown
}

// ThisMachine describes the machine the process runs on.
func ThisMachine() Machine {
	info := kernels.Info()
	return Machine{CPU: info.CPU, Cores: runtime.NumCPU(), Arch: runtime.GOOS + "/" + runtime.GOARCH,
		Level: info.Level, Go: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02"), Load: loadAverage()}
}

// loadAverage is the 1-minute load average from /proc/loadavg: a busy
// machine (other jobs sharing the cores) makes every figure slower, so the
// report says how busy it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// PeerScripts are the peer scripts the report runs, in this order, when
// they exist; others found in the folder run after them.
var PeerScripts = []string{"gemm_openblas.py", "vit_torch.py", "vit_onnxruntime.py", "vit_onnxruntime_int8.py", "family_onnxruntime.py", "elementwise_torch.py"}

// PeerResult is what one peer script printed.
type PeerResult struct {
	Script  string // file name, e.g. gemm_openblas.py
	Rows    []Row  // its JSON lines, keys in the order printed
	Text    string // its other output lines
	Args    string // extra arguments it was given
	Skipped string // why it did not run, if it did not
	Err     error  // how it failed, if it did
	Elapsed time.Duration
}

// Row is one JSON result line: its values and its keys in the order printed.
type Row struct {
	Keys []string
	Vals map[string]any
}

// PeerOptions say how RunPeers runs the scripts.
type PeerOptions struct {
	Timeout  time.Duration       // per script
	Args     map[string][]string // extra arguments per script name (e.g. vit_torch.py: --sizes 224x224)
	Progress io.Writer           // one line per script; nil for none
	Only     []string            // run just these scripts (names in dir), in this order; none: all
}

// RunPeers runs the peer scripts found in dir (Python() <script> --json
// [extra args], from the module root so they can `go run ./cmd/anyres`),
// each within the timeout, and collects what they print.
func RunPeers(ctx context.Context, root, dir string, o PeerOptions) []PeerResult {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	var scripts []string
	seen := map[string]bool{}
	for _, s := range PeerScripts {
		scripts = append(scripts, s)
		seen[s] = true
	}
	found, _ := filepath.Glob(filepath.Join(dir, "*.py"))
	sort.Strings(found)
	for _, p := range found {
		if b := filepath.Base(p); !seen[b] && isScript(p) {
			scripts = append(scripts, b)
		}
	}
	if len(o.Only) > 0 {
		scripts = o.Only
	}
	shown := dir
	if rel, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(rel, "..") {
		shown = rel
	}
	var out []PeerResult
	for _, s := range scripts {
		path := filepath.Join(dir, s)
		if _, err := os.Stat(path); err != nil {
			out = append(out, PeerResult{Script: s, Skipped: "not present in " + shown})
			fmt.Fprintf(progress, "skip %s: not present\n", s)
			continue
		}
		fmt.Fprintf(progress, "run  %s ...\n", s)
		r := runPeer(ctx, root, path, o.Timeout, o.Args[s])
		if r.Err != nil {
			fmt.Fprintf(progress, "     %s failed after %s: %v\n", s, r.Elapsed.Round(time.Second), r.Err)
		} else {
			fmt.Fprintf(progress, "     %s done in %s, %d result lines\n", s, r.Elapsed.Round(time.Second), len(r.Rows))
		}
		out = append(out, r)
	}
	return out
}

func runPeer(ctx context.Context, root, path string, timeout time.Duration, extra []string) PeerResult {
	// Peers print one JSON object per result with --json; a script that
	// does not know the flag is run again without it (its text is kept).
	r := runPeerWith(ctx, root, path, timeout, append([]string{"--json"}, extra...)...)
	if r.Err != nil && strings.Contains(r.Err.Error(), "unrecognized arguments: --json") {
		r = runPeerWith(ctx, root, path, timeout, extra...)
	}
	if len(extra) > 0 {
		r.Args = strings.Join(extra, " ")
	}
	return r
}

func runPeerWith(ctx context.Context, root, path string, timeout time.Duration, args ...string) PeerResult {
	r := PeerResult{Script: filepath.Base(path)}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	abs, err := filepath.Abs(path)
	if err != nil {
		r.Err = err
		return r
	}
	cmd := exec.CommandContext(ctx, Python(), append([]string{abs}, args...)...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r.Elapsed = time.Since(start)
	r.Rows, r.Text = ParsePeerOutput(stdout.String())
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		tail := strings.TrimSpace(stderr.String())
		if len(tail) > 400 {
			tail = "…" + tail[len(tail)-400:]
		}
		if tail != "" {
			err = fmt.Errorf("%w: %s", err, tail)
		}
		r.Err = err
	}
	return r
}

// Python is the interpreter for the peer scripts: Debian's /usr/bin/python3
// where it exists, since the scripts install Debian's python3-numpy and
// python3-torch (a pyenv or venv python3 earlier on PATH would not see
// them), else python3 from PATH.
func Python() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// ParsePeerOutput splits a script's output into JSON-object lines (the
// results, as `anyres bench -json` prints them) and the other lines (text
// for people, kept as is).
func ParsePeerOutput(s string) (rows []Row, text string) {
	var other []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "{") {
			if row, err := decodeOrdered(line); err == nil {
				rows = append(rows, row)
				continue
			}
		}
		if line != "" {
			other = append(other, sc.Text())
		}
	}
	return rows, strings.Join(other, "\n")
}

// decodeOrdered decodes one flat JSON object keeping its key order.
func decodeOrdered(line string) (Row, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return Row{}, errors.New("not an object")
	}
	row := Row{Vals: map[string]any{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return Row{}, err
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return Row{}, err
		}
		if _, dup := row.Vals[key]; !dup {
			row.Keys = append(row.Keys, key)
		}
		row.Vals[key] = v
	}
	return row, nil
}

// Markdown renders the results: a line naming the machine, then per script
// a table per kind of result ("bench" field), or its text, or why it was
// skipped, then the command that reproduces it all.
func Markdown(m Machine, results []PeerResult, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s, %d logical CPUs, %s, anyres kernels: %s, %s", m.Date, m.CPU, m.Cores, m.Arch, m.Level, m.Go)
	if m.Load != "" {
		fmt.Fprintf(&b, "; load average %s when it started", m.Load)
	}
	b.WriteString(".\n\n")
	for _, r := range results {
		fmt.Fprintf(&b, "**%s**", r.Script)
		switch {
		case r.Skipped != "":
			fmt.Fprintf(&b, ": skipped (%s).\n\n", r.Skipped)
			continue
		case r.Err != nil:
			fmt.Fprintf(&b, ": failed (%s).\n\n", oneLine(r.Err.Error()))
		default:
			fmt.Fprintf(&b, " (%s)\n\n", r.Elapsed.Round(time.Second))
		}
		if r.Args != "" {
			fmt.Fprintf(&b, "Run with `%s`.\n\n", r.Args)
		}
		if text := strings.TrimSpace(r.Text); text != "" {
			if len(r.Rows) > 0 && strings.Count(text, "\n") < 4 {
				fmt.Fprintf(&b, "%s\n\n", strings.ReplaceAll(text, "\n", "  \n")) // its header lines, as notes
			} else {
				// Marked for the docs test, which runs the commands of
				// every other block: this one is output.
				fmt.Fprintf(&b, "<!-- not run: what the script printed -->\n```\n%s\n```\n\n", text)
			}
		}
		for _, kind := range kinds(r.Rows) {
			table(&b, r.Rows, kind)
		}
	}
	fmt.Fprintf(&b, "Reproduce with `%s`.\n", command)
	return b.String()
}

// kinds lists the values of the rows' "bench" field in first-seen order.
func kinds(rows []Row) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		k := fmt.Sprint(r.Vals["bench"])
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// table writes the rows of one kind as a markdown table, columns in
// first-seen key order.
func table(b *strings.Builder, rows []Row, kind string) {
	var cols []string
	seen := map[string]bool{"bench": true}
	var sel []Row
	for _, r := range rows {
		if fmt.Sprint(r.Vals["bench"]) != kind {
			continue
		}
		sel = append(sel, r)
		for _, k := range r.Keys {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	if kind != "<nil>" {
		fmt.Fprintf(b, "%s:\n\n", kind)
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, r := range sel {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = columnCell(c, r.Vals[c])
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

// columnCell formats the value of one column: a cosine similarity (a key
// with a "cos" word, e.g. ort_cos, f32_cos_anyres_ort) as the peer printed
// it, since its digits past 0.999 are the measurement; the rest by cell.
func columnCell(key string, v any) string {
	if n, ok := v.(json.Number); ok && slices.Contains(strings.Split(key, "_"), "cos") {
		return n.String()
	}
	return cell(v)
}

// cell formats a value for a table: whole numbers as they are, others with
// three significant figures or so.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		switch a := math.Abs(f); {
		case a >= 100:
			return strconv.FormatFloat(f, 'f', 0, 64)
		case a >= 10:
			return strconv.FormatFloat(f, 'f', 1, 64)
		case a >= 0.01 || a == 0:
			return strconv.FormatFloat(f, 'f', 2, 64)
		}
		return strconv.FormatFloat(f, 'g', 3, 64)
	case string:
		return strings.ReplaceAll(v, "|", `\|`)
	}
	b, _ := json.Marshal(v)
	return strings.ReplaceAll(string(b), "|", `\|`)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Markers delimit the part of the README that ReplaceSection rewrites.
const (
	BeginMarker = "<!-- bench-report:begin -->"
	EndMarker   = "<!-- bench-report:end -->"
)

// ReplaceSection returns doc with the text between BeginMarker and
// EndMarker replaced by section.
func ReplaceSection(doc, section string) (string, error) {
	i := strings.Index(doc, BeginMarker)
	j := strings.Index(doc, EndMarker)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %s … %s section", BeginMarker, EndMarker)
	}
	return doc[:i+len(BeginMarker)] + "\n" + strings.TrimRight(section, "\n") + "\n" + doc[j:], nil
}

// isScript reports whether the Python file at path is a runnable peer
// script (it starts with a #! line) rather than a module the scripts share.
func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := io.ReadFull(f, head)
	return n == 2 && string(head) == "#!"
}
