package anyres_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
)

// hubFolders writes a hub folder (model.safetensors + config.json) for
// every reference file that has a hub config, keyed by the file's name.
func hubFolders(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(golden.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".safetensors") {
			continue
		}
		g := golden.Open(t, e.Name())
		if !g.HasHub() {
			continue
		}
		dir := filepath.Join(t.TempDir(), strings.TrimSuffix(e.Name(), ".safetensors"))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = golden.WriteHubFolder(t, g, dir)
	}
	if len(out) == 0 {
		t.Fatal("no reference file with a hub config")
	}
	return out
}

// TestForwardNilOutputIsAnError: a nil *Output is misuse that every
// family reports as ErrNilOutput rather than panicking on.
func TestForwardNilOutputIsAnError(t *testing.T) {
	for name, dir := range hubFolders(t) {
		m, err := anyres.Load(dir, anyres.Options{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info := m.Info()
		p := info.Patch
		img := anyres.Image{C: info.Channels, H: 4 * p[0], W: 4 * p[1], Pix: make([]float32, info.Channels*16*p[0]*p[1])}
		if err := m.Forward(img, nil); !errors.Is(err, anyres.ErrNilOutput) {
			t.Errorf("%s (%s): Forward(img, nil) = %v, want ErrNilOutput", name, info.Family, err)
		}
		m.Close()
	}
}

// TestBadKernelLevelIsRefusedByLoad runs this test binary again with an
// unknown ANYRES_KERNELS: the process starts (no panic in package init),
// and Load returns an error naming the setting.
func TestBadKernelLevelIsRefusedByLoad(t *testing.T) {
	if os.Getenv("ANYRES_TEST_CHILD") == "badlevel" {
		_, err := anyres.Load(filepath.Join("testdata", "models", "vit_tiny.safetensors"), anyres.Options{})
		if err == nil {
			t.Fatal("Load succeeded with a bad " + kernels.EnvVar)
		}
		t.Log("LOADERR", err)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	cmd := exec.Command(exe, "-test.run=^TestBadKernelLevelIsRefusedByLoad$", "-test.v")
	cmd.Env = append(os.Environ(), kernels.EnvVar+"=sse9", "ANYRES_TEST_CHILD=badlevel")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, exited := err.(*exec.ExitError); !exited {
			t.Skipf("cannot re-run the test binary here (emulator or sandbox): %v", err)
		}
		t.Fatalf("child failed:\n%s", out)
	}
	if !strings.Contains(string(out), "LOADERR") || !strings.Contains(string(out), kernels.EnvVar+"=sse9") {
		t.Fatalf("Load's error does not name the setting:\n%s", out)
	}
}
