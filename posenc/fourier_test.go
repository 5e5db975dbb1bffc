package posenc_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
	"github.com/anyres/anyres/posenc"
)

var fourier = posenc.ResampleOptions{Method: posenc.Fourier}

// fourierSizes mixes odd and even sides (even ones have a Nyquist bin).
var fourierSizes = []posenc.Grid{{H: 1, W: 1}, {H: 2, W: 3}, {H: 7, W: 7}, {H: 8, W: 5}, {H: 14, W: 14}, {H: 16, W: 9}, {H: 24, W: 31}, {H: 37, W: 23}, {H: 64, W: 64}}

func TestFourierIdentity(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		for _, g := range fourierSizes {
			x := randTable(g.N(), 3, uint64(g.N()))
			y, err := posenc.ResampleGrid(x, g, g, 3, fourier)
			if err != nil {
				t.Fatal(err)
			}
			golden.Close(t, g.String(), y, x, 0, 0)
		}
	})
}

// bandLimited samples Σ a·cos(2π(ky·v + kx·u) + φ) at the pixel centres
// (v, u) = ((i+½)/H, (j+½)/W) of g, for the given waves, one channel per
// wave set.
type wave struct {
	ky, kx int
	a, phi float64
}

func bandLimited(g posenc.Grid, channels [][]wave) []float32 {
	out := make([]float32, g.N()*len(channels))
	for i := range g.H {
		for j := range g.W {
			v, u := (float64(i)+0.5)/float64(g.H), (float64(j)+0.5)/float64(g.W)
			for c, ws := range channels {
				var s float64
				for _, w := range ws {
					s += w.a * math.Cos(2*math.Pi*(float64(w.ky)*v+float64(w.kx)*u)+w.phi)
				}
				out[(i*g.W+j)*len(channels)+c] = float32(s)
			}
		}
	}
	return out
}

// TestFourierExactOnBandLimited: a signal whose frequencies lie below both
// grids' Nyquist frequencies is reproduced exactly at the new grid's
// pixel centres, up and down, square or not.
func TestFourierExactOnBandLimited(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	kerneltest.Run(t, func(t *testing.T) {
		for _, old := range fourierSizes {
			for _, new := range fourierSizes {
				if testing.Short() && old.N()*new.N() > 1<<16 {
					continue // emulators and the race detector
				}
				// frequencies strictly below half of the smaller side, per axis
				maxY, maxX := (min(old.H, new.H)-1)/2, (min(old.W, new.W)-1)/2
				var chans [][]wave
				for range 4 {
					ws := []wave{{0, 0, rng.NormFloat64(), 0}}
					for range 3 {
						ws = append(ws, wave{rng.IntN(2*maxY+1) - maxY, rng.IntN(2*maxX+1) - maxX, rng.NormFloat64(), rng.Float64() * 2 * math.Pi})
					}
					if maxY > 0 && maxX > 0 { // the highest frequencies both grids hold
						ws = append(ws, wave{maxY, -maxX, 0.5, rng.Float64() * 2 * math.Pi})
					}
					chans = append(chans, ws)
				}
				got, err := posenc.ResampleGrid(bandLimited(old, chans), old, new, len(chans), fourier)
				if err != nil {
					t.Fatal(err)
				}
				golden.Close(t, fmt.Sprintf("%v→%v", old, new), got, bandLimited(new, chans), 2e-5, 2e-5)
			}
		}
	})
}

// TestFourierRoundTrip: downsampling undoes upsampling exactly, also for
// random tables (full spectrum, Nyquist bins of even sides included).
func TestFourierRoundTrip(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		for _, old := range fourierSizes {
			for _, up := range []posenc.Grid{{H: old.H + 1, W: old.W + 2}, {H: 2 * old.H, W: 3 * old.W}, {H: 64, W: 65}} {
				if testing.Short() && old.N()*up.N() > 1<<16 {
					continue // emulators and the race detector
				}
				x := randTable(old.N(), 6, uint64(old.N()+up.N()))
				y, err := posenc.ResampleGrid(x, old, up, 6, fourier)
				if err != nil {
					t.Fatal(err)
				}
				z, err := posenc.ResampleGrid(y, up, old, 6, fourier)
				if err != nil {
					t.Fatal(err)
				}
				golden.Close(t, fmt.Sprintf("%v→%v→%v", old, up, old), z, x, 1e-5, 1e-5)
			}
		}
	})
}

// TestLearnedFourier: a Learned with the Fourier method reproduces a
// band-limited table at any grid, prefix rows untouched.
func TestLearnedFourier(t *testing.T) {
	old := posenc.Grid{H: 14, W: 14}
	chans := [][]wave{{{1, 2, 0.7, 0.3}, {0, 0, 0.1, 0}}, {{-3, 1, 0.4, 1.1}}}
	table := append([]float32{5, -5}, bandLimited(old, chans)...)
	l, err := posenc.NewLearned(table, 1, old, 2, posenc.ResampleOptions{Method: posenc.Fourier, Antialias: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []posenc.Grid{{H: 24, W: 17}, {H: 9, W: 9}, {H: 64, W: 64}} {
		tab, err := l.Table(g)
		if err != nil {
			t.Fatal(err)
		}
		golden.Close(t, g.String(), tab, append([]float32{5, -5}, bandLimited(g, chans)...), 2e-5, 2e-5)
	}
}
