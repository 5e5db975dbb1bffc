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

// SetLowAttentionOff keeps attention in float32 whatever the Linear
// layers' format, and returns what restores it.
func SetLowAttentionOff(off bool) (restore func()) {
	old := lowAttentionOff
	lowAttentionOff = off
	return func() { lowAttentionOff = old }
}
