package kernels

// SetQEpilogueBaseline(true) gives GemmQuant, at the current level, the
// epilogue it had before the residual joined the dequantising pass:
// dequantAVX2 on amd64 (the only dequantise kernel then) and the residual
// in a second pass. The returned function restores the current one. For
// the A/B measurements only.
func SetQEpilogueBaseline(on bool) (restore func()) {
	old, sep := qLevel, qSeparateResidual
	if on {
		b := *qLevel
		b.dequant = qBaselineDequant(b.dequant)
		qLevel, qSeparateResidual = &b, true
	}
	return func() { qLevel, qSeparateResidual = old, sep }
}
