//go:build !unix

package tensorfile

import "os"

// mapFile reads the whole file where memory mapping is not available.
func mapFile(f *os.File, size int) ([]byte, func() error, bool, error) {
	return readAll(f, size)
}

// dropResident does nothing where the file was read, not mapped.
func dropResident([]byte) error { return nil }
