package imageprep

import (
	"bytes"
	"image/jpeg"
	"testing"
)

// FuzzPrepare: no input bytes make decoding and preparing panic or ignore
// the limits (run with go test -fuzz FuzzPrepare ./imageprep).
func FuzzPrepare(f *testing.F) {
	f.Add(encodePNGf(f, 9, 13), 16, 0)
	var buf bytes.Buffer
	jpeg.Encode(&buf, gradient(17, 40), nil)
	f.Add(buf.Bytes(), 8, 4)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), 16, 0)
	f.Fuzz(func(t *testing.T, data []byte, patch, tokens int) {
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		patch, tokens = patch%64, tokens%512
		x, err := Prepare(img, Options{Patch: patch, Tokens: tokens, Norm: ImageNet})
		if err != nil {
			return
		}
		if len(x.Data) != 3*x.H*x.W {
			t.Fatalf("%d values for 3×%d×%d", len(x.Data), x.H, x.W)
		}
	})
}

func encodePNGf(f *testing.F, h, w int) []byte {
	var buf bytes.Buffer
	png := gradient(h, w)
	if err := encodeTo(&buf, png); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
