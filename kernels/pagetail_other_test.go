//go:build !linux

package kernels

// pageTail returns a slice of n elements filled by f (an ordinary
// allocation where the OS offers no portable guard page).
func pageTail[T int32 | float32](n int, f func(i int) T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = f(i)
	}
	return s
}
