package kernels

// WeightedRowSum exposes the checked per-level kernel to the external tests.
var WeightedRowSum = weightedRowSum
