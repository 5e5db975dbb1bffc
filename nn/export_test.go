package nn

// SetSmoothAlpha sets smoothAlpha for a measurement and returns what
// restores it.
func SetSmoothAlpha(a float64) (restore func()) {
	old := smoothAlpha
	smoothAlpha = a
	return func() { smoothAlpha = old }
}

// SetSmoothOff turns the LayerNorm rewrite off and returns what restores
// it.
func SetSmoothOff() (restore func()) {
	smoothOff = true
	return func() { smoothOff = false }
}
