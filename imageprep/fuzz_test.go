package imageprep

import (
	"bytes"
	"image/jpeg"
	"testing"
)

// FuzzPrepare: no input bytes and no requested size make decoding and
// preparing panic or go past the limits. The limits are small so that a
// header declaring a large image costs the fuzzer little; every size check
// is the same code at any limit. Run longer with
// go test -run='^$' -fuzz='^FuzzPrepare$' ./imageprep.
func FuzzPrepare(f *testing.F) {
	f.Add(encodePNGf(f, 9, 13), 16, 0, 0, 0)
	var buf bytes.Buffer
	jpeg.Encode(&buf, gradient(17, 40), nil)
	f.Add(buf.Bytes(), 8, 4, 0, 0)
	f.Add(buf.Bytes(), 0, 0, 3, 700)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), 16, 0, 0, 0)
	lim := Limits{FileBytes: 1 << 20, Pixels: 1 << 16, Side: 1024, ScratchBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte, patch, tokens, h, w int) {
		img, err := lim.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > lim.Pixels || b.Dx() > lim.Side || b.Dy() > lim.Side {
			t.Fatalf("decoded a %v image past the limits", b)
		}
		patch, tokens = patch%64, tokens%512
		x, err := Prepare(img, Options{Patch: patch, Tokens: tokens, Size: Size{H: h % 2048, W: w % 2048}, Norm: ImageNet, Limits: lim})
		if err != nil {
			return
		}
		if len(x.Pix) != 3*x.H*x.W {
			t.Fatalf("%d values for 3×%d×%d", len(x.Pix), x.H, x.W)
		}
		if int64(x.H)*int64(x.W) > lim.Pixels || x.H > lim.Side || x.W > lim.Side {
			t.Fatalf("prepared a %d×%d tensor past the limits", x.H, x.W)
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
