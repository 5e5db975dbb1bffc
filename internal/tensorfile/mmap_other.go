//go:build !unix

package tensorfile

import "os"

// mapFile reads the whole file where memory mapping is not available.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	return readAll(f, size)
}
