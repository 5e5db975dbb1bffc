package posenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDinoV3Tables checks the tables against DINOv3's formula in float64:
// patch centres normalised per axis to [-1, 1], periods
// temperature^(4k/headDim), row angles then column angles.
func TestDinoV3Tables(t *testing.T) {
	for _, c := range []struct {
		g    Grid
		hd   int
		o    DinoV3Options
		norm [2]float64 // the denominators of rows and columns
	}{
		{Grid{H: 4, W: 4}, 16, DinoV3Options{}, [2]float64{4, 4}},
		{Grid{H: 6, W: 3}, 64, DinoV3Options{}, [2]float64{6, 3}},
		{Grid{H: 3, W: 10}, 8, DinoV3Options{Temperature: 10000}, [2]float64{3, 10}},
		{Grid{H: 5, W: 2}, 12, DinoV3Options{Normalize: NormalizeMax, GridOffset: 0.25}, [2]float64{5, 5}},
		{Grid{H: 5, W: 2}, 12, DinoV3Options{Normalize: NormalizeMin}, [2]float64{2, 2}},
		{Grid{H: 2, W: 7}, 16, DinoV3Options{MinPeriod: 0.5, MaxPeriod: 40}, [2]float64{2, 7}},
	} {
		sin, cos, err := DinoV3Tables(c.g, c.hd, c.o)
		if err != nil {
			t.Fatal(err)
		}
		n4 := c.hd / 4
		if len(sin) != c.g.N()*2*n4 || len(cos) != len(sin) {
			t.Fatalf("%v: %d values, want %d", c.g, len(sin), c.g.N()*2*n4)
		}
		temp := c.o.Temperature
		if temp == 0 {
			temp = 100
		}
		worst := 0.0
		for y := 0; y < c.g.H; y++ {
			for x := 0; x < c.g.W; x++ {
				coord := [2]float64{2*(float64(y)+0.5+c.o.GridOffset)/c.norm[0] - 1, 2*(float64(x)+0.5+c.o.GridOffset)/c.norm[1] - 1}
				for ax := 0; ax < 2; ax++ {
					for k := 0; k < n4; k++ {
						period := math.Pow(temp, 4*float64(k)/float64(c.hd))
						if c.o.MaxPeriod != 0 {
							e := 0.0
							if n4 > 1 {
								e = float64(k) / float64(n4-1)
							}
							period = c.o.MinPeriod * math.Pow(c.o.MaxPeriod/c.o.MinPeriod, e)
						}
						a := 2 * math.Pi * coord[ax] / period
						i := (y*c.g.W+x)*2*n4 + ax*n4 + k
						worst = max(worst, math.Abs(float64(sin[i])-math.Sin(a)), math.Abs(float64(cos[i])-math.Cos(a)))
					}
				}
			}
		}
		if worst > 2e-6 {
			t.Errorf("%v head %d %+v: tables off by %g", c.g, c.hd, c.o, worst)
		}
	}
	for _, o := range []DinoV3Options{{Temperature: -1}, {MinPeriod: 1}, {Normalize: 7}, {GridOffset: math.NaN()}} {
		if _, _, err := DinoV3Tables(Grid{H: 2, W: 2}, 8, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, _, err := DinoV3Tables(Grid{H: 2, W: 2}, 6, DinoV3Options{}); err == nil {
		t.Error("head dim 6: no error")
	}
}

// TestDinoV3Layouts: the half layout on q and k gives the same attention
// scores as the interleaved layout on q and k whose head values are
// reordered so that pairs (i, i+headDim/2) become (2i, 2i+1), and prefix
// tokens are not touched.
func TestDinoV3Layouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	g, heads, hd, prefix := Grid{H: 3, W: 5}, 2, 8, 2
	n, width := prefix+g.N(), heads*hd
	qkv := make([]float32, n*3*width)
	for i := range qkv {
		qkv[i] = rng.Float32()*2 - 1
	}
	perm := make([]float32, len(qkv))
	for r := 0; r < n; r++ {
		copy(perm[r*3*width:], qkv[r*3*width:(r+1)*3*width])
		for part := 0; part < 2; part++ {
			for h := 0; h < heads; h++ {
				src := qkv[r*3*width+part*width+h*hd:]
				dst := perm[r*3*width+part*width+h*hd:]
				for i := 0; i < hd/2; i++ {
					dst[2*i], dst[2*i+1] = src[i], src[i+hd/2]
				}
			}
		}
	}
	orig := append([]float32(nil), qkv...)
	half := &RopeDinoV3{}
	inter := &RopeDinoV3{Options: DinoV3Options{Interleaved: true}}
	if err := half.RotateQKV(qkv, 3*width, g, heads, hd, prefix); err != nil {
		t.Fatal(err)
	}
	if err := inter.RotateQKV(perm, 3*width, g, heads, hd, prefix); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < n; r++ {
		for h := 0; h < heads; h++ {
			for part := 0; part < 3; part++ {
				at := r*3*width + part*width + h*hd
				if r < prefix || part == 2 {
					for i := 0; i < hd; i++ {
						if qkv[at+i] != orig[at+i] {
							t.Fatalf("row %d part %d changed", r, part)
						}
					}
					continue
				}
				for i := 0; i < hd/2; i++ {
					// 1e-6: the SIMD interleaved kernel may round once less.
					if math.Abs(float64(qkv[at+i]-perm[at+2*i])) > 1e-6 || math.Abs(float64(qkv[at+i+hd/2]-perm[at+2*i+1])) > 1e-6 {
						t.Fatalf("row %d head %d part %d: half and interleaved layouts disagree at %d: %v %v / %v %v", r, h, part, i, qkv[at+i], qkv[at+i+hd/2], perm[at+2*i], perm[at+2*i+1])
					}
				}
			}
		}
	}
	// Rotate (separate q and k) agrees with RotateQKV.
	q, k := make([]float32, n*width), make([]float32, n*width)
	for r := 0; r < n; r++ {
		copy(q[r*width:], orig[r*3*width:r*3*width+width])
		copy(k[r*width:], orig[r*3*width+width:r*3*width+2*width])
	}
	if err := half.Rotate(q, k, g, heads, hd, prefix); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < n; r++ {
		for i := 0; i < width; i++ {
			if q[r*width+i] != qkv[r*3*width+i] || k[r*width+i] != qkv[r*3*width+width+i] {
				t.Fatalf("Rotate and RotateQKV disagree at row %d", r)
			}
		}
	}
}
