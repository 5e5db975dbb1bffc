//go:build linux

package kernels

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// pageTail returns a slice of n elements filled by f that ends exactly at
// an inaccessible page, so a kernel reading one element past it faults.
// The mapping is never unmapped (tests make few, and a slice may outlive
// the call).
func pageTail[T int32 | float32](n int, f func(i int) T) []T {
	ps := unix.Getpagesize()
	size := int(unsafe.Sizeof(T(0)))
	pages := (n*size+ps-1)/ps + 1
	mem, err := unix.Mmap(-1, 0, pages*ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	if err := unix.Mprotect(mem[(pages-1)*ps:], unix.PROT_NONE); err != nil {
		panic(err)
	}
	end := (pages - 1) * ps
	var s []T
	if n > 0 {
		s = unsafe.Slice((*T)(unsafe.Pointer(&mem[end-n*size])), n)
	} else {
		s = []T{}
	}
	for i := range s {
		s[i] = f(i)
	}
	return s
}
