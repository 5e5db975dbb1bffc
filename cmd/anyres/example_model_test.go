package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	goldenDir = "../../testdata/golden"
	hubDir    = "../../testdata/hub"
	hillsJPG  = "../../testdata/images/hills.jpg"
)

// hubSources is testdata/hub_sources.txt: for each folder of testdata/hub,
// the SHA-256 of the reference file it was made from.
const hubSources = "../../testdata/hub_sources.txt"

// TestExampleModelsCheckedIn makes every reference model's hub folder with
// the command and checks it equals the folder checked in under
// testdata/hub, so the offline demos cannot drift from the reference
// files, and that testdata/hub holds nothing else. A reference file other
// than the one a folder was made from (hub_sources.txt: another seed or width of
// the same generator) still has to make a folder that loads and runs;
// only the byte comparison is then meaningless.
func TestExampleModelsCheckedIn(t *testing.T) {
	names, err := exampleModels(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	sources := readHubSources(t)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("testdata/hub/%s: no reference file %s.safetensors makes it", e.Name(), e.Name())
		}
	}
	tmp := t.TempDir()
	for _, n := range names {
		dir := filepath.Join(tmp, n)
		if _, err := captured(func() error { return runExampleModel([]string{"-from", goldenDir, n, dir}) }); err != nil {
			t.Fatalf("example-model %s: %v", n, err)
		}
		if sum := fileSHA256(t, filepath.Join(goldenDir, n+".safetensors")); sources[n] != sum {
			t.Logf("testdata/hub/%s was made from another %s.safetensors (hub_sources.txt: %q, now %q): checking that the new folder runs", n, n, sources[n], sum)
			if _, err := captured(func() error {
				return runRun([]string{"-weights", dir, "-image", hillsJPG, "-size", "64x96", "-edge", "crop"})
			}); err != nil {
				t.Errorf("%s: the folder made from this reference file does not run: %v", n, err)
			}
			continue
		}
		for _, file := range []string{"config.json", "model.safetensors"} {
			got, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			have, err := os.ReadFile(filepath.Join(hubDir, n, file))
			if err != nil {
				t.Errorf("%v (regenerate: go run ./cmd/anyres example-model -force %s testdata/hub/%s)", err, n, n)
				continue
			}
			if !bytes.Equal(got, have) {
				t.Errorf("testdata/hub/%s/%s differs from what example-model makes (regenerate with -force)", n, file)
			}
		}
	}
}

// TestExampleModelRefusesExisting checks that an existing folder is left
// alone unless -force is given, and that a bad name is an error.
func TestExampleModelRefusesExisting(t *testing.T) {
	names, err := exampleModels(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keep := filepath.Join(dir, "config.json")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runExampleModel([]string{"-from", goldenDir, names[0], dir})
	if err == nil || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("existing folder: got %v, want an error that names -force", err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "mine" {
		t.Fatal("example-model overwrote an existing folder without -force")
	}
	if _, err := captured(func() error { return runExampleModel([]string{"-from", goldenDir, "-force", names[0], dir}) }); err != nil {
		t.Fatalf("-force: %v", err)
	}
	if b, _ := os.ReadFile(keep); string(b) == "mine" {
		t.Fatal("-force did not write config.json")
	}
	if err := runExampleModel([]string{"-from", goldenDir, "no_such_model", t.TempDir() + "/x"}); err == nil {
		t.Fatal("an unknown name gave no error")
	}
}

// TestRunExampleModels runs every checked-in hub folder on the test photo
// through the run command's entry, as the README's demo does (-edge crop,
// so families that need whole patches or mask units take any photo). With
// -short the photo is shrunk to 64×96 first, to stay quick under qemu.
func TestRunExampleModels(t *testing.T) {
	entries, err := os.ReadDir(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("testdata/hub is empty")
	}
	for _, e := range entries {
		args := []string{"-weights", filepath.Join(hubDir, e.Name()), "-image", hillsJPG, "-edge", "crop", "-top", "1"}
		if testing.Short() {
			args = append(args, "-size", "64x96")
		}
		out, err := runCaptured(t, args...)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !strings.Contains(out, "class") && !strings.Contains(out, "feature") {
			t.Errorf("%s: output %q names no class and no feature", e.Name(), out)
		}
	}
}

// captured runs fn with the commands' stdout sent to a buffer.
func captured(fn func() error) (string, error) {
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	err := fn()
	return buf.String(), err
}

// readHubSources reads testdata/hub_sources.txt ("NAME SHA256" lines).
func readHubSources(t *testing.T) map[string]string {
	b, err := os.ReadFile(hubSources)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			m[f[0]] = f[1]
		}
	}
	return m
}

func fileSHA256(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}
