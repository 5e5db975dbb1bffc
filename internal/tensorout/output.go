package tensorout

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes a file at path through a temporary file beside it,
// renamed into place once complete (see writeFile): for outputs that are
// not tensors (images, JSON).
func WriteFile(path string, write func(io.Writer) error) error { return writeFile(path, write) }

// outputTarget is the file a write to path replaces: path itself, or the
// file a symbolic link at path points to. It must be a regular file or not
// exist yet.
func outputTarget(path string) (string, error) {
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", fmt.Errorf("cannot write %s: %w", path, err)
		}
	}
	fi, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return target, nil
	case err != nil:
		return "", fmt.Errorf("cannot write %s: %w", path, err)
	case fi.IsDir():
		return "", fmt.Errorf("%s is a folder", path)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("will not write %s: it is not a regular file but %s; outputs replace files, not devices or pipes", path, kindOf(fi.Mode()))
	}
	return target, nil
}

// kindOf names a file mode's type for an error.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// CheckNotInput refuses an output path that is one of the input files
// (compared by file identity, so another name, a link or a relative path
// for the same file is caught too): the command would destroy what it
// reads. Inputs that do not exist are skipped.
func CheckNotInput(out string, inputs ...string) error {
	ofi, err := os.Stat(out)
	if err != nil {
		return nil // nothing there yet: it cannot be an input
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		ifi, err := os.Stat(in)
		if err == nil && os.SameFile(ofi, ifi) {
			return fmt.Errorf("the output %s is the input %s: refusing to write over it (give another output)", out, in)
		}
	}
	return nil
}
