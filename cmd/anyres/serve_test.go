package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/serve"
)

// repoRoot is the module's root folder.
func repoRoot(t *testing.T) string { return filepath.Join(golden.Dir(t), "..", "..") }

// readmeBlock returns the first ```sh block of the README section titled
// heading.
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no section %q", heading)
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	_, block, ok := strings.Cut(sec, "```sh\n")
	if !ok {
		t.Fatalf("README section %q has no sh block", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return strings.Split(strings.TrimSpace(block), "\n")
}

// shellWords splits a command line as sh would for the quoting the README
// uses: single quotes, no escapes.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// The README's serve example runs: the server line through the command's
// own flag parser (on a free loopback port), every curl line with curl.
func TestReadmeServe(t *testing.T) {
	skipWithoutSockets(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	root := repoRoot(t)
	var serverArgs []string
	var curls [][]string
	for _, line := range readmeBlock(t, "## Serve over HTTP") {
		words := shellWords(line)
		switch {
		case len(words) > 4 && strings.Join(words[:4], " ") == "go run ./cmd/anyres serve":
			serverArgs = strings.Fields(strings.TrimSuffix(strings.Join(words[4:], " "), " &"))
		case len(words) > 1 && words[0] == "curl":
			curls = append(curls, words[1:])
		default:
			t.Fatalf("README line %q: neither the server nor curl", line)
		}
	}
	f, normSet, err := parseServeFlags(serverArgs)
	if err != nil {
		t.Fatalf("README's serve flags %v: %v", serverArgs, err)
	}
	f.weights = filepath.Join(root, f.weights)
	readmeURL := "http://" + f.addr
	f.addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serveUntil(ctx, f, normSet, func(_ *serve.Server, a net.Addr) { addrs <- a.String() })
	}()
	var url string
	select {
	case a := <-addrs:
		url = "http://" + a
	case err := <-errc:
		t.Fatal(err)
	}
	for _, args := range curls {
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], readmeURL, url)
		}
		cmd := exec.Command("curl", append([]string{"--fail-with-body", "--max-time", "120"}, args...)...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		if strings.HasSuffix(args[len(args)-1], "/metrics") {
			if !bytes.Contains(out, []byte("anyres_requests_total{")) {
				t.Errorf("metrics: %s", out)
			}
		} else if !json.Valid(out) {
			t.Errorf("curl %s: not JSON: %.200s", strings.Join(args, " "), out)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve after the shutdown: %v", err)
	}
}

// The container recipe and the KServe manifest run the command with flags
// it has.
func TestDeployFilesUseRealFlags(t *testing.T) {
	root := repoRoot(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	list := func(text, key string) []string {
		m := regexp.MustCompile(`(?m)^\s*` + key + `:?\s*(\[.*\])\s*$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s list", key)
		}
		var v []string
		if err := json.Unmarshal([]byte(m[1]), &v); err != nil {
			t.Fatalf("%s %s: %v", key, m[1], err)
		}
		return v
	}
	docker := read("Dockerfile")
	if e := list(docker, "ENTRYPOINT"); len(e) != 2 || e[1] != "serve" {
		t.Errorf("ENTRYPOINT %v: want the binary and serve", e)
	}
	if _, _, err := parseServeFlags(list(docker, "CMD")); err != nil {
		t.Errorf("Dockerfile CMD: %v", err)
	}
	if !strings.Contains(docker, "./cmd/anyres") {
		t.Error("the Dockerfile does not build ./cmd/anyres")
	}
	if _, _, err := parseServeFlags(list(read("kserve-inferenceservice.yaml"), "args")); err != nil {
		t.Errorf("InferenceService args: %v", err)
	}
}

// anyres bench serve runs every mode, bounded, on the small model.
func TestBenchServeRuns(t *testing.T) {
	skipWithoutSockets(t)
	m, _, err := benchServeModel(tinyModel(t), "", 0, serve.DefaultMaxTokens)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rs, err := benchServe(m, serveBench{clients: 3, sizes: [][2]int{{32, 32}, {48, 16}}, duration: 5 * time.Second, requests: 12,
		batchTokens: 256, batchWait: time.Millisecond, overload: 2, passes: 1, rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	printLoad(&buf, rs)
	if len(rs) != 5 {
		t.Fatalf("%d modes:\n%s", len(rs), buf.String())
	}
	for _, r := range rs {
		if r.failed != 0 || r.ok == 0 || r.sent > 12 {
			// (12 requests per mode at most: 6 a round in the closed loops)
			t.Errorf("%s: %d sent, %d ok, %d failed (%s)", r.mode, r.sent, r.ok, r.failed, r.firstErr)
		}
	}
	if !strings.Contains(buf.String(), "throughput: HTTP batched / HTTP unbatched") {
		t.Errorf("no ratio line:\n%s", buf.String())
	}
}

// skipWithoutSockets skips where there are no TCP sockets (WebAssembly).
func skipWithoutSockets(t *testing.T) {
	if runtime.GOOS == "wasip1" || runtime.GOOS == "js" {
		t.Skip("no TCP sockets on " + runtime.GOOS)
	}
}
