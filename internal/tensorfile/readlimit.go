package tensorfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Limits of the small files read whole, by kind: none is near them in
// practice (ImageNet-21k's label names and descriptions are ~2 MB), and
// each keeps a hostile file (/dev/zero, an endless pipe) from taking the
// memory.
const (
	MaxConfigBytes = 16 << 20 // a config.json
	MaxLabelsBytes = 16 << 20 // a labels file
)

// ReadFileLimit reads the whole file at path, refusing one of more than
// limit bytes whatever the file is: a regular file by its size, before
// reading; a pipe, a device or anything that does not tell its size by
// reading no more than limit+1 bytes. what names the kind of file (and its
// limit) in the error.
func ReadFileLimit(path string, limit int64, what string) ([]byte, error) {
	return readFileLimit(path, limit, what, "")
}

// readFileLimit is ReadFileLimit for a kind of file that starts with
// magic: a file that does not is refused after its first bytes, not after
// limit of them.
func readFileLimit(path string, limit int64, what, magic string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a %s", path, what)
	}
	over := func() error {
		return fmt.Errorf("%s: larger than the %d-byte limit of a %s", path, limit, what)
	}
	if fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, over()
	}
	head := make([]byte, len(magic))
	if n, _ := io.ReadFull(f, head); n < len(magic) || string(head) != magic {
		return nil, fmt.Errorf("%s: not a %s (it does not start with %q)", path, what, magic)
	}
	b, err := io.ReadAll(io.LimitReader(io.MultiReader(bytes.NewReader(head), f), limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, over()
	}
	return b, nil
}

// ReadWhole reads a whole weight file into memory (what OpenRead does,
// for callers that need the bytes): a regular file of at most MaxFileSize
// bytes. Weight files are read by their size, so a pipe or a device is
// refused by name rather than read as empty or without end.
func ReadWhole(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, err
	}
	return ReadFileLimit(path, MaxFileSize, "weight file")
}

// checkRegular refuses a weight file that is not a regular file.
func checkRegular(path string, fi os.FileInfo) error {
	if fi.IsDir() {
		return fmt.Errorf("%s is a folder, not a weight file", path)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (a device, pipe or socket): a weight file is read by its size", path)
	}
	return nil
}
