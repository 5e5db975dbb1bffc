package kernels

// BWidenTiles lets benchmarks time the widened-tile bfloat16 path against
// the in-register widening kernels in one binary.
var BWidenTiles = &bWidenTiles
