//go:build unix

package tensorfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the file read-only; weights are then paged in on use and
// shared between processes that load the same model.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return readAll(f, size)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
