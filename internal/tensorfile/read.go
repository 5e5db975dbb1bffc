package tensorfile

import (
	"io"
	"os"
)

// readAll reads the whole file into memory (not mapped).
func readAll(f *os.File, size int) ([]byte, func() error, bool, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, false, err
	}
	return data, func() error { return nil }, false, nil
}
