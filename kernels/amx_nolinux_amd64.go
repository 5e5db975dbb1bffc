//go:build gc && !purego && !linux

package kernels

// amxPermit: anyres asks for AMX tile data only on Linux, the one OS whose
// grant protocol it knows; elsewhere the tile unit is left unused.
func amxPermit() string { return "AMX tile data permission (Linux only in anyres)" }
