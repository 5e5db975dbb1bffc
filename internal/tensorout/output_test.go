package tensorout

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRefusesNonRegularTargets(t *testing.T) {
	fi, err := os.Stat(os.DevNull)
	if err != nil || fi.Mode().IsRegular() {
		t.Skip("no device file here")
	}
	err = WriteNPYFile(os.DevNull, []int{1}, []float32{1})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("writing over %s: %v, want a refusal naming it not a regular file", os.DevNull, err)
	}
	if err := CheckWritable(os.DevNull); err == nil {
		t.Errorf("CheckWritable(%s) = nil", os.DevNull)
	}
	if err := WriteNPYFile(t.TempDir(), []int{1}, []float32{1}); err == nil {
		t.Error("writing over a folder succeeded")
	}
}

func TestWriteThroughSymlinkKeepsTheLink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.bin"), filepath.Join(dir, "link.bin")
	if err := os.WriteFile(real, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.bin", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := WriteFile(link, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("the linked file holds %q, want the new content", b)
	}
}

func TestCheckNotInputUsesFileIdentity(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.safetensors")
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	same := []string{in, filepath.Join(dir, ".", "sub", "..", "in.safetensors")}
	if os.Mkdir(filepath.Join(dir, "sub"), 0o755) != nil {
		t.Fatal("mkdir")
	}
	if os.Link(in, filepath.Join(dir, "hard")) == nil {
		same = append(same, filepath.Join(dir, "hard"))
	}
	if os.Symlink(in, filepath.Join(dir, "soft")) == nil {
		same = append(same, filepath.Join(dir, "soft"))
	}
	for _, out := range same {
		if err := CheckNotInput(out, "", in); err == nil || !strings.Contains(err.Error(), "is the input") {
			t.Errorf("CheckNotInput(%s, %s) = %v, want a refusal", out, in, err)
		}
	}
	for _, out := range []string{other, filepath.Join(dir, "new")} {
		if err := CheckNotInput(out, in); err != nil {
			t.Errorf("CheckNotInput(%s, %s) = %v", out, in, err)
		}
	}
}
