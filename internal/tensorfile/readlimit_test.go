package tensorfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileLimitBoundsEveryKindOfFile(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small"), filepath.Join(dir, "big")
	os.WriteFile(small, []byte("12345"), 0o644)
	os.WriteFile(big, []byte("123456"), 0o644)
	if b, err := ReadFileLimit(small, 5, "test file"); err != nil || string(b) != "12345" {
		t.Errorf("a file at the limit: %q, %v", b, err)
	}
	if _, err := ReadFileLimit(big, 5, "test file"); err == nil || !strings.Contains(err.Error(), "5-byte limit of a test file") {
		t.Errorf("a file over the limit: %v", err)
	}
	if _, err := ReadFileLimit(dir, 5, "test file"); err == nil {
		t.Error("a folder was read")
	}
	// A device that never ends: the read stops at the limit.
	if fi, err := os.Stat("/dev/zero"); err == nil && !fi.Mode().IsRegular() {
		paths := []string{"/dev/zero"}
		if os.Symlink("/dev/zero", filepath.Join(dir, "zero")) == nil {
			paths = append(paths, filepath.Join(dir, "zero"))
		}
		for _, p := range paths {
			if _, err := ReadFileLimit(p, 1<<10, "test file"); err == nil || !strings.Contains(err.Error(), "limit") {
				t.Errorf("%s: %v, want the limit", p, err)
			}
		}
	}
}

// TestReadNPYStopsAtTheMagic: a device that is not a .npy file is refused
// after its first bytes, not after the 2 GiB an array may take.
func TestReadNPYStopsAtTheMagic(t *testing.T) {
	if fi, err := os.Stat("/dev/zero"); err != nil || fi.Mode().IsRegular() {
		t.Skip("no /dev/zero here")
	}
	if _, _, err := ReadNPY("/dev/zero"); err == nil || !strings.Contains(err.Error(), "does not start with") {
		t.Errorf("ReadNPY(/dev/zero) = %v", err)
	}
}
