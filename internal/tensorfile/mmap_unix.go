//go:build unix

package tensorfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the file read-only (mapped true); weights are then paged in
// on use and shared between processes that load the same model.
func mapFile(f *os.File, size int) ([]byte, func() error, bool, error) {
	if size == 0 {
		return nil, func() error { return nil }, false, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return readAll(f, size)
	}
	return data, func() error { return unix.Munmap(data) }, true, nil
}

// dropResident tells the kernel the process no longer needs data's pages
// resident: a file mapping's pages leave the process's resident set (the
// page cache keeps them) and come back, unchanged, on the next read.
func dropResident(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return unix.Madvise(data, unix.MADV_DONTNEED)
}
