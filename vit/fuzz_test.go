package vit

import (
	"testing"

	"github.com/anyres/anyres/internal/golden"
)

// FuzzLoad feeds arbitrary bytes to the weight-file reader and the loader,
// then runs one patch-sized image through whatever loaded: nothing may
// panic or read out of bounds. The seeds are the golden model files and
// broken copies of them; `go test` runs the seeds, `go test -fuzz FuzzLoad`
// explores from them.
func FuzzLoad(f *testing.F) {
	for _, name := range goldenModels {
		b := goldenBytes(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])                 // data cut short
		f.Add(append([]byte{}, b[:200]...)) // header cut short
		f.Add(flip(b, 8+40))                // a byte of the header changed
		f.Add(flip(b, len(b)-3))            // a byte of the data changed
		f.Add(append(b[:8:8], b[9:]...))    // a header byte removed
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := loadBytes(data, Options{Threads: 2, MaxTokens: 64, Ignore: golden.NotWeight})
		if err != nil {
			return
		}
		p, c := m.PatchSize(), m.Config().Channels()
		img := Image{C: c, H: p[0], W: 2 * p[1], Pix: make([]float32, c*p[0]*2*p[1])}
		var out Output
		if err := m.Forward(img, &out); err != nil {
			return
		}
		if len(out.Tokens) != (out.Prefix+2)*m.Config().EmbedDim {
			t.Fatalf("%d token values for %d prefix + 2 patches", len(out.Tokens), out.Prefix)
		}
	})
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x5a
	return c
}
