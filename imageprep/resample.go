package imageprep

import (
	"image"
	"math"

	xdraw "golang.org/x/image/draw"
)

// The kernel resize (bicubic, bilinear, Lanczos) is x/image/draw's kernel
// scaler computed on rows of 16-bit values: the same weights, the same
// float64 sums in the same order, the same rounding, so the same pixels
// (TestResampleMatchesXDraw). x/image/draw reads a source it has no fast
// path for through an interface call per pixel and tap, and ours would
// have been a 16-bit copy made for the purpose (Opaque): three quarters
// of a photo's resize. Here each source row is converted once, as the
// first pass reaches it, and the sums read plain slices.

// rgbRows returns a function that writes row y (0 ≤ y < img's height) of
// img as 16-bit colour values, the colours Opaque gives, into r, g and b
// (img's width each): JPEG's YCbCr and the common decoded types directly,
// others through Opaque's copy. The resize converts one source row at a
// time, so no converted copy of a photo is held.
func rgbRows(img image.Image) func(y int, r, g, b []uint16) {
	bd := img.Bounds()
	w := bd.Dx()
	switch m := img.(type) {
	case *image.YCbCr:
		// COffset is a row part plus a column part: the column parts once.
		cols := make([]int, w)
		c0 := m.COffset(bd.Min.X, bd.Min.Y)
		for x := range cols {
			cols[x] = m.COffset(bd.Min.X+x, bd.Min.Y) - c0
		}
		return func(y int, r, g, b []uint16) {
			ys := m.Y[m.YOffset(bd.Min.X, bd.Min.Y+y):][:w]
			ci := m.COffset(bd.Min.X, bd.Min.Y+y)
			cb, cr := m.Cb[ci:], m.Cr[ci:]
			r, g, b = r[:w], g[:w], b[:w]
			for x, yv := range ys {
				// color.YCbCr.RGBA's arithmetic.
				yy1 := int32(yv) * 0x10101
				cb1 := int32(cb[cols[x]]) - 128
				cr1 := int32(cr[cols[x]]) - 128
				r[x] = clamp16(yy1 + 91881*cr1)
				g[x] = clamp16(yy1 - 22554*cb1 - 46802*cr1)
				b[x] = clamp16(yy1 + 116130*cb1)
			}
		}
	case *image.Gray:
		return func(y int, r, g, b []uint16) {
			row := m.Pix[m.PixOffset(bd.Min.X, bd.Min.Y+y):][:w]
			for x, v := range row {
				r[x], g[x], b[x] = uint16(v)*0x101, uint16(v)*0x101, uint16(v)*0x101
			}
		}
	case *image.NRGBA:
		// Straight colours: alpha is dropped, the colour kept (Opaque).
		return func(y int, r, g, b []uint16) {
			row := m.Pix[m.PixOffset(bd.Min.X, bd.Min.Y+y):][:4*w]
			for x := range w {
				q := row[4*x : 4*x+3]
				r[x], g[x], b[x] = uint16(q[0])*0x101, uint16(q[1])*0x101, uint16(q[2])*0x101
			}
		}
	}
	o := Opaque(img)
	return func(y int, r, g, b []uint16) {
		row := o.Pix[y*o.Stride:][:8*w]
		for x := range w {
			q := row[8*x : 8*x+6]
			r[x] = uint16(q[0])<<8 | uint16(q[1])
			g[x] = uint16(q[2])<<8 | uint16(q[3])
			b[x] = uint16(q[4])<<8 | uint16(q[5])
		}
	}
}

// clamp16 is v >> 8 within [0, 0xffff], as color.YCbCr.RGBA rounds.
func clamp16(v int32) uint16 {
	if uint32(v)&0xff000000 == 0 {
		return uint16(v >> 8)
	}
	return uint16(^(v >> 31) & 0xffff)
}

// span is one output pixel's taps, taps[i:j], and 1/Σweight (also over
// 0xffff, for the first pass's [0, 1] values).
type span struct {
	i, j         int
	inv, invFFFF float64
}

type tap struct {
	coord  int
	weight float64
}

// distrib is x/image/draw's newDistrib: for each of dw outputs, the
// source pixels of sw under kernel q (its support widened by the scale
// when shrinking) with their weights.
func distrib(q *xdraw.Kernel, dw, sw int) ([]span, []tap) {
	scale := float64(sw) / float64(dw)
	halfWidth, argScale := q.Support, 1.0
	if scale > 1 {
		halfWidth *= scale
		argScale = 1 / scale
	}
	spans := make([]span, dw)
	var taps []tap
	for x := range spans {
		center := float64((float64(x)+0.5)*scale) - 0.5
		lo := max(int(math.Floor(center-halfWidth)), 0)
		hi := max(min(int(math.Ceil(center+halfWidth)), sw), lo)
		total := 0.0
		first := len(taps)
		for c := lo; c < hi; c++ {
			t := center - float64(c)
			if t < 0 {
				t = -t
			}
			t *= argScale
			if t >= q.Support {
				continue
			}
			wt := q.At(t)
			if wt == 0 {
				continue
			}
			total += wt
			taps = append(taps, tap{c, wt})
		}
		total = 1 / total
		spans[x] = span{first, len(taps), total, total / 0xffff}
	}
	return spans, taps
}

// resample scales img to h×w with kernel q, as x/image/draw's kernel
// scaler scales Opaque's RGBA64 copy onto an RGBA64 with the Src operator:
// columns first into a w × source-height temporary of [0, 1] values
// (three planes; resizeScratch), then rows.
func resample(img image.Image, h, w int, q *xdraw.Kernel) *image.RGBA64 {
	sh, sw := img.Bounds().Dy(), img.Bounds().Dx()
	rows := rgbRows(img)
	hs, ht := distrib(q, w, sw)
	vs, vt := distrib(q, h, sh)
	tmp := [3][]float64{make([]float64, w*sh), make([]float64, w*sh), make([]float64, w*sh)}
	r, g, b := make([]uint16, sw), make([]uint16, sw), make([]uint16, sw)
	for y := range sh {
		rows(y, r, g, b)
		for x, s := range hs {
			var pr, pg, pb float64
			for _, c := range ht[s.i:s.j] {
				pr += float64(float64(r[c.coord]) * c.weight)
				pg += float64(float64(g[c.coord]) * c.weight)
				pb += float64(float64(b[c.coord]) * c.weight)
			}
			tmp[0][y*w+x] = pr * s.invFFFF
			tmp[1][y*w+x] = pg * s.invFFFF
			tmp[2][y*w+x] = pb * s.invFFFF
		}
	}
	// Rows: each output row sums its taps' temporary rows, tap by tap in
	// x/image/draw's order, a whole row at a time (contiguous reads).
	dst := image.NewRGBA64(image.Rect(0, 0, w, h))
	acc := [3][]float64{make([]float64, w), make([]float64, w), make([]float64, w)}
	for y, s := range vs {
		for ch := range acc {
			clear(acc[ch])
			for _, c := range vt[s.i:s.j] {
				row := tmp[ch][c.coord*w : (c.coord+1)*w]
				for x, v := range row {
					acc[ch][x] += float64(v * c.weight)
				}
			}
		}
		// x/image/draw also sums the alpha and keeps each colour within
		// it; opaque, that alpha is 1 to rounding, as ftou's clamp.
		o := dst.Pix[y*dst.Stride : y*dst.Stride+8*w]
		for x := range w {
			put16(o[8*x:], ftou(acc[0][x]*s.inv))
			put16(o[8*x+2:], ftou(acc[1][x]*s.inv))
			put16(o[8*x+4:], ftou(acc[2][x]*s.inv))
			put16(o[8*x+6:], 0xffff)
		}
	}
	return dst
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

// ftou is x/image/draw's [0, 1] → [0, 0xffff] rounding.
func ftou(f float64) uint16 {
	i := int32(float64(0xffff*f) + 0.5)
	if i > 0xffff {
		return 0xffff
	}
	if i > 0 {
		return uint16(i)
	}
	return 0
}
