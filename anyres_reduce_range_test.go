package anyres_test

import (
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// reduceRangeGoal is the features cosine int8 with 7-bit weights must keep
// to float32: their grid is half as fine as 8-bit weights', so twice the
// error budget of outlierGoal (1 − 0.998 = 2·(1 − 0.999)).
const reduceRangeGoal = 0.998

// TestReduceRange: on every golden model, and on it rewritten to carry
// 100× post-LayerNorm channels (TestInt8Outliers' rewrite), int8 with
// 7-bit weights (Options.ReduceRange) keeps features cosine ≥ reduceRangeGoal
// to float32 over the golden inputs and 4 noise images, and the arg-max
// class of every golden input (checkTop1); and it is a different model
// from 8-bit int8 (the option is not ignored). With -short: the ordinary
// models on their golden inputs.
func TestReduceRange(t *testing.T) {
	for _, name := range golden.Models(t) {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			ref, path, opts := loadGolden(t, f, name, anyres.Options{})
			defer ref.Close()
			imgs, sizes := goldenImages(t, f)
			nGolden := len(imgs)
			short := testing.Short() // race detector, emulators (int8 is slow there): the golden inputs, no outlier model
			if !short {
				imgs = append(imgs, noiseImages(4, ref.Info().Channels, sizes, 9)...)
			}
			opts.DType = "int8"
			q8, err := anyres.Load(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer q8.Close()
			opts.ReduceRange = true
			q7, err := anyres.Load(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer q7.Close()
			s7 := compareModels(t, ref, q7, imgs)
			if short {
				t.Logf("%s int8 with 7-bit weights vs f32: %v", ref.Info().Family, s7)
			} else {
				t.Logf("%s int8 vs f32: 8-bit weights %v; 7-bit %v", ref.Info().Family, compareModels(t, ref, q8, imgs), s7)
			}
			if s7.featCos < reduceRangeGoal {
				t.Errorf("7-bit weights: features cosine %.5f < %v", s7.featCos, reduceRangeGoal)
			}
			checkTop1(t, ref, q7, imgs[:nGolden], "int8 with 7-bit weights")
			if s := compareModels(t, q8, q7, imgs[:1]); s.featErr == 0 {
				t.Error("7-bit weights give the 8-bit model's features")
			}
			if short {
				return
			}
			path, opts, norms := writeOutlierModel(t, f, 100)
			if norms == 0 {
				return // post-norm: no outlier model (TestInt8Outliers)
			}
			opts.Ignore, opts.DType, opts.ReduceRange = golden.NotWeight, "int8", true
			qo, err := anyres.Load(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer qo.Close()
			so := compareModels(t, ref, qo, imgs)
			t.Logf("7-bit weights, %d norms with 100× channels: %v", norms, so)
			if so.featCos < reduceRangeGoal {
				t.Errorf("7-bit weights with 100× channels: features cosine %.5f < %v", so.featCos, reduceRangeGoal)
			}
			checkTop1(t, ref, qo, imgs[:nGolden], "int8 with 7-bit weights and 100× channels")
		})
	}
}
