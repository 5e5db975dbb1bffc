package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nlpodyssey/safetensors"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
)

func init() {
	commands["quantize"] = command{"rewrite a checkpoint with int8 (or bf16) Linear weights", runQuantize}
}

const quantizeHelp = `usage: anyres quantize -in a.safetensors|hubfolder -out b.safetensors|folder -dtype int8|bf16 [-reduce-range] [-calibrate DIR]

Rewrites a checkpoint (safetensors, timm state_dict names; or a hub folder,
model.safetensors with config.json, as run takes) with its Linear
weights in a smaller number format. The weights rewritten are the 2-D
float tensors whose name ends in ".weight", except those anyres keeps
float32 (the patch embedding: patch_embed.*, NaFlex's embeds.*; Swin V2's
position-bias MLP: *.cpb_mlp.*); everything else is copied byte for byte,
and the metadata is kept (with an "anyres_quantize" entry added).

  -dtype int8   NAME (I8, [out, in]) holds round(w / s) for each output row,
                s = max |w[row]| / 127 (symmetric, round half to even), and
                NAME_scale (F32, [out]) holds s: w ≈ NAME_scale[o]·NAME[o, i].
                A quarter of the float32 size.
  -reduce-range with int8: s = max |w[row]| / 64, values in [-64, 64]
                (ONNX Runtime's reduce_range): 7-bit weights, whose products
                run about a fifth faster on CPUs without VNNI or AMX (the
                AVX2 int8 kernel), on every CPU the same results.
  -dtype bf16   NAME is stored as BF16 (rounded to nearest even). Half the
                float32 size.

With -dtype int8, each LayerNorm that feeds int8 layers is first folded
into them as an int8 load does (docs/quantization.md): the norm's gain
and bias divided by per-channel factors, the layers' weight columns
multiplied by them; the float32 function is unchanged.

  -calibrate DIR  runs the float32 model over the images of DIR (photos,
                resized to about 256 patch tokens and normalised as the
                model says: config's mean/std or the architecture's
                default; or normalised C×H×W .npy tensors) and stores the largest |normalised value| of each
                channel of those norms as NAME.anyres_range (F32), which
                sizes the factors. int8 only.

The file loads directly in anyres, in any family and at any -dtype (the
weights are dequantized as they are read). Run with -dtype int8, the int8
values are used as stored: the same model as quantizing a float32 file at
load time, with a quarter of the file to read. The file records its dtype
(metadata anyres_quantize), and anyres run uses it when -dtype is not given.

-out naming a folder, or a path not there yet that does not end in
.safetensors, is a hub folder (made if needed): its
model.safetensors, and the input folder's config.json beside it, so that it
runs as a hub model.

flags:
`

func runQuantize(args []string) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), quantizeHelp); fs.PrintDefaults() }
	in := fs.String("in", "", "checkpoint to read (.safetensors, or a hub folder)")
	out := fs.String("out", "", "checkpoint to write (.safetensors, or a hub folder)")
	dtype := fs.String("dtype", "int8", "int8 or bf16")
	calib := fs.String("calibrate", "", "folder of calibration images (photos or .npy) for int8")
	reduceRange := fs.Bool("reduce-range", false, "with -dtype int8: 7-bit weights (max |w| / 64), faster on the AVX2 int8 kernel")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *in == "" || *out == "" {
		return errors.New("-in and -out are required")
	}
	if *dtype != nn.Int8 && *dtype != nn.BF16 {
		return fmt.Errorf("-dtype %q: want int8 or bf16", *dtype)
	}
	if *reduceRange && *dtype != nn.Int8 {
		return fmt.Errorf("-reduce-range narrows int8 weights; -dtype is %s", *dtype)
	}
	if *calib != "" && *dtype != nn.Int8 {
		return fmt.Errorf("-calibrate is for -dtype int8 (bf16 has nothing to calibrate)")
	}
	inFile, inConfig, outFile, outFolder, err := hubInOut(*in, "", *out)
	if err != nil {
		return err
	}
	// The config.json a written folder gets: the input folder's, as it
	// is (the dtype is recorded in the weights' metadata, anyres_quantize,
	// which run reads); read now, before the work.
	config, err := readConfigFile(inConfig)
	if err != nil {
		return err
	}
	if err := makeHubOut(outFolder); err != nil {
		return err
	}
	n, before, after, err := quantizeFile(inFile, outFile, *dtype, *calib, *reduceRange)
	if err != nil {
		return err
	}
	if err := writeHubConfig(outFolder, config); err != nil {
		return err
	}
	what := outFile
	if outFolder != "" {
		what = outFolder + " (model.safetensors"
		if config != nil {
			what += ", config.json"
		}
		what += ")"
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d weights as %s, %.1f MB of them → %.1f MB\n", what, n, *dtype, float64(before)/1e6, float64(after)/1e6)
	return nil
}

// quantizable reports whether a tensor is a Linear weight that quantize
// rewrites: a 2-D float ".weight" other than those anyres runs in float32
// in every dtype, the patch embedding (timm's patch_embed, NaFlex's
// embeds.proj, a Linear over patches) and Swin V2's position-bias MLP
// (cpb_mlp, which makes the attention bias tables).
func quantizable(name string, shape []int, dtype string) bool {
	return len(shape) == 2 && strings.HasSuffix(name, ".weight") &&
		!strings.HasPrefix(name, "patch_embed.") && !strings.HasPrefix(name, "embeds.") && !strings.Contains(name, ".cpb_mlp.") &&
		(dtype == "F32" || dtype == "F16" || dtype == "BF16")
}

// quantizeFile rewrites in as out, calibrated on the images of calib
// when it is not "", with 7-bit int8 weights when reduceRange; it returns
// the number of tensors rewritten and their size before and after.
func quantizeFile(in, out, dtype, calib string, reduceRange bool) (n, before, after int, err error) {
	data, err := tensorfile.ReadWhole(in)
	if err != nil {
		return 0, 0, 0, err
	}
	f, err := tensorfile.Parse(data)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", in, err)
	}
	tensors, err := rawTensors(data)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", in, err)
	}
	var smoothed, ranges map[string][]float32
	if dtype == nn.Int8 {
		config, err := hubConfig(in)
		if err != nil {
			return 0, 0, 0, err
		}
		load := data
		if calib != "" {
			var images int
			if ranges, images, err = calibrate(data, config, calib); err != nil {
				return 0, 0, 0, err
			}
			if load, err = withTensors(data, ranges); err != nil {
				return 0, 0, 0, err
			}
			fmt.Fprintf(os.Stderr, "calibrated %d LayerNorms on %d images of %s\n", len(ranges), images, calib)
		}
		if smoothed, err = smoothedTensors(load, config, reduceRange); err != nil {
			if calib != "" {
				return 0, 0, 0, fmt.Errorf("%s: folding the calibrated LayerNorms: %w", in, err)
			}
			// A file no family loads still quantizes, per row as before,
			// without the LayerNorm rewrite; say so.
			fmt.Fprintf(os.Stderr, "%s: LayerNorms not smoothed into the int8 layers (%v); the model smooths them when it loads\n", in, err)
			smoothed = nil
		}
	}
	qmax := 127
	if reduceRange {
		qmax = kernels.NarrowQuantMax
	}
	norms := 0 // LayerNorms smoothed
	for name := range smoothed {
		if strings.HasSuffix(name, nn.SmoothedSuffix) {
			norms++
		}
	}
	names := f.Names()
	sort.Strings(names)
	for _, name := range names {
		shape, err := f.Shape(name)
		if err != nil {
			return 0, 0, 0, err
		}
		if !quantizable(name, shape, f.DType(name)) {
			continue
		}
		if f.Has(name + nn.ScaleSuffix) {
			return 0, 0, 0, fmt.Errorf("%s: %q already has scales %q: is the file quantized already?", in, name, name+nn.ScaleSuffix)
		}
		w, _, err := f.Float32(name)
		if err != nil {
			return 0, 0, 0, err
		}
		if v, ok := smoothed[name]; ok {
			w = v
			delete(smoothed, name)
		}
		for i, v := range w {
			if v-v != 0 {
				return 0, 0, 0, fmt.Errorf("%s: %q holds a non-finite value (%g at index %d)", in, name, v, i)
			}
		}
		before += len(tensors[name].Data())
		switch dtype {
		case nn.Int8:
			q, s := kernels.QuantizeWeightsTo(w, shape[0], shape[1], shape[1], qmax)
			tensors[name] = tensorout.I8(shape, q)
			tensors[name+nn.ScaleSuffix] = tensorout.F32([]int{shape[0]}, s)
			after += len(q) + 4*len(s)
		case nn.BF16:
			tensors[name] = tensorout.BF16(shape, w)
			after += 2 * len(w)
		}
		n++
	}
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("%s: no 2-D float \".weight\" tensor to rewrite", in)
	}
	for name, v := range smoothed { // norms, convolutions and the factors, float32
		shape := []int{len(v)}
		if f.Has(name) {
			if shape, err = f.Shape(name); err != nil {
				return 0, 0, 0, err
			}
		}
		tensors[name] = tensorout.F32(shape, v)
	}
	for name, v := range ranges {
		tensors[name] = tensorout.F32([]int{len(v)}, v)
	}
	meta := map[string]string{}
	for k, v := range f.Metadata() {
		meta[k] = v
	}
	switch dtype {
	case nn.Int8:
		meta["anyres_quantize"] = "int8: each 2-D .weight W (but patch_embed, embeds, cpb_mlp) as I8 W with F32 W" + nn.ScaleSuffix + fmt.Sprintf(" per output row (symmetric, max|w|/%d); W ≈ W", qmax) + nn.ScaleSuffix + "[o]·W[o,i]"
		if norms > 0 {
			meta["anyres_quantize"] += fmt.Sprintf("; %d LayerNorms smoothed into the layers they feed (gain and bias /s, weight columns ·s, s in NORM%s)", norms, nn.SmoothedSuffix)
		}
		if ranges != nil {
			meta["anyres_quantize"] += fmt.Sprintf("; calibrated on %s (NAME%s: largest |normalised value| per channel)", filepath.Base(calib), nn.RangeSuffix)
		}
	case nn.BF16:
		meta["anyres_quantize"] = "bf16: each 2-D .weight (but patch_embed, embeds, cpb_mlp) as BF16, rounded to nearest even"
	}
	return n, before, after, tensorout.WriteSafetensorsFile(out, tensors, meta)
}

// rawTensors are the tensors of a safetensors file as they are stored.
func rawTensors(data []byte) (map[string]tensorout.Tensor, error) {
	raw, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, err
	}
	tensors := map[string]tensorout.Tensor{}
	for _, nv := range raw.Tensors() {
		tensors[nv.Name] = tensorout.Raw(nv.TensorView)
	}
	return tensors, nil
}
