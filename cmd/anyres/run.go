package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/modelinput"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

func init() {
	commands["run"] = command{"run a checkpoint of any family on a photo or tensor: top classes or features", runRun}
}

// stdout is where run prints its results (tests replace it).
var stdout io.Writer = os.Stdout

const runHelp = `usage: anyres run -weights model.safetensors|hubfolder (-image photo.jpg | -input x.npy) [flags]

Runs a checkpoint of any family anyres runs (timm ViT, DeiT, DINOv2, CLIP,
SigLIP, FlexiViT, Swin, ...: safetensors with timm state_dict names, a
hub folder with model.safetensors and timm's config.json, or a Hugging Face
transformers folder: config.json with model_type, model.safetensors and
preprocessor_config.json) on one PNG or JPEG
photo, or on a normalised tensor (-input), and prints the top classes, or
writes features, pooled feature and logits to a file (-out). The
architecture comes from config.json (or -config), the file's "config"
metadata, or the tensors.

The input size is one of:
  (default)   the photo's own size; -edge says what happens to the pixels past
              the last whole patch: pad (zeros, timm's dynamic_img_pad), crop,
              or resize to whole patches
  -size HxW   resize the photo to HxW, height first as every size the
              command prints (aspect ratio not kept; a size that turns a
              landscape photo into a portrait, or back, is warned about)
  -tokens N   the largest size with the photo's aspect ratio whose patch
              grid holds at most N tokens (a fixed compute budget for any shape)

A learned position table is resampled to the input's grid (-method; by
default the family's rule: bicubic with antialiasing as timm does, bilinear
for FlexiViT; bicubic without antialiasing for transformers checkpoints;
dinov2 and dinov2-reg are facebookresearch/dinov2's rules, transformers-4.44
is transformers <= 4.44's).

Pixels are scaled to [0, 1] and normalised by the model's mean and std
(anyres.Info.Input, or -norm): the config's pretrained_cfg mean/std when it
has them, else the architecture's default (OpenAI CLIP's for CLIP towers
and EVA-02, 0.5 for SigLIP and PE, ImageNet's for the rest). A folder's
preprocessor_config.json gives rescale factor, mean and std, and, unless
-size or -tokens is given, the resize (filter and size or shortest edge) and
crop; -size native keeps the photo's own size. -out .safetensors then also
holds transformers' names: last_hidden_state, pooler_output, image_embeds,
logits.

flags:
`

type runFlags struct {
	weights, config, image    string
	input                     string
	size                      string
	tokens                    int
	edge, patch, norm, labels string
	method                    string
	antialias                 bool
	top                       int
	out, save                 string
	threads, maxTokens        int
	dtype, keepF32            string
	reduceRange               bool
}

func runRun(args []string) error {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), runHelp); fs.PrintDefaults() }
	fs.StringVar(&f.weights, "weights", "", "checkpoint: a .safetensors file (timm state_dict names) or a hub folder (model.safetensors + config.json)")
	fs.StringVar(&f.config, "config", "", "timm's config.json (or anyres's resolved config) for a bare .safetensors file")
	fs.StringVar(&f.image, "image", "", "PNG or JPEG photo")
	fs.StringVar(&f.input, "input", "", "instead of -image: a normalised float32 C×H×W or 1×C×H×W tensor in a .npy file (run as it is)")
	fs.StringVar(&f.size, "size", "", "resize the photo to `HxW` (or \"native\", the default: keep its size)")
	fs.IntVar(&f.tokens, "tokens", 0, "resize the photo to the largest size with its aspect ratio and at most `N` patch tokens")
	fs.StringVar(&f.edge, "edge", "", "edge policy at native size: pad, crop or resize (default: pad if the config sets dynamic_img_pad or a transformers Swin pads, else crop; Swin and Hiera, which timm refuses such sizes for, crop)")
	fs.StringVar(&f.patch, "patch", "", "run at another patch size `P` (FlexiViT: the patch kernel is resized)")
	fs.StringVar(&f.method, "method", "", "how the position table (and, with -patch, the patch kernel) is resampled: bicubic, bilinear, nearest, fourier, dinov2, dinov2-reg, transformers or transformers-4.44 (default: the family's rule, timm's or transformers')")
	fs.BoolVar(&f.antialias, "antialias", true, "antialias when the table shrinks (timm's default)")
	fs.StringVar(&f.norm, "norm", "", "replaces the model's normalisation (preprocessor_config.json's, the config's mean/std, else the architecture's default): imagenet, inception, clip or none")
	fs.StringVar(&f.labels, "labels", "", "class names, one per line (or a JSON list)")
	fs.IntVar(&f.top, "top", 5, "print the `k` most probable classes")
	fs.StringVar(&f.out, "out", "", "write features to this .npy or .safetensors file instead of printing classes")
	fs.StringVar(&f.save, "save", "features", "what a .npy file holds: features (every token), pooled or logits (.safetensors holds all)")
	fs.IntVar(&f.threads, "threads", 0, "worker threads (default: all CPUs)")
	fs.IntVar(&f.maxTokens, "max-tokens", 0, "refuse inputs that count more tokens than this (0: the model's own cap: 16384 tokens for a ViT, 262144 first-stage patches for Swin)")
	fs.StringVar(&f.dtype, "dtype", "f32", "number format of the Linear layers: f32, int8 (dynamic int8 quantization) or bf16 (bfloat16 weights); default: the dtype a file written by anyres quantize records, else f32")
	fs.StringVar(&f.keepF32, "keep-f32", "", "with -dtype int8 or bf16: comma-separated layer names (timm prefixes, e.g. blocks.11.mlp.fc2,head) kept in float32")
	fs.BoolVar(&f.reduceRange, "reduce-range", false, "with -dtype int8: 7-bit weights (±64, ONNX Runtime's reduce_range), about a fifth faster on CPUs without VNNI or AMX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags go before it? every value needs its flag)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if err := unusedRunFlags(f, set); err != nil {
		return err
	}
	if !set["dtype"] {
		f.dtype = storedDType(f.weights)
	}
	return run(f, set["norm"])
}

func run(f runFlags, normSet bool) error {
	if f.weights == "" || (f.image == "") == (f.input == "") {
		return errors.New("-weights and one of -image or -input are required")
	}
	if f.size != "" && f.size != "native" && f.tokens != 0 {
		return errors.New("give -size or -tokens, not both")
	}
	if f.input != "" && (f.tokens != 0 || (f.size != "" && f.size != "native")) {
		return errors.New("-input is used as it is: -size and -tokens apply to -image")
	}
	if f.tokens < 0 || f.top < 0 || f.maxTokens < 0 {
		return errors.New("-tokens, -top and -max-tokens must not be negative")
	}
	opts := anyres.Options{Threads: f.threads, MaxTokens: f.maxTokens, DType: f.dtype, ReduceRange: f.reduceRange}
	if f.keepF32 != "" {
		opts.KeepF32 = strings.Split(f.keepF32, ",")
	}
	var err error
	if opts.Edge, err = parseEdge(f.edge); err != nil {
		return err
	}
	if f.method != "" {
		ropt, err := resampleOptions(f.method, f.antialias)
		if err != nil {
			return err
		}
		opts.Resample = &ropt
	}
	if f.patch != "" {
		p, err := imageprep.ParseSize(f.patch)
		if err != nil {
			return fmt.Errorf("-patch: %w", err)
		}
		opts.PatchSize = [2]int{p.H, p.W}
	}
	var target imageprep.Size
	if f.size != "" && f.size != "native" {
		if target, err = imageprep.ParseSize(f.size); err != nil {
			return fmt.Errorf("-size: %w", err)
		}
	}
	var labels []string
	if f.labels != "" {
		if labels, err = readLabels(f.labels); err != nil {
			return err
		}
	}
	ext := strings.ToLower(filepath.Ext(f.out))
	if f.out != "" {
		if ext != ".npy" && ext != ".safetensors" {
			return fmt.Errorf("-out %s: want a .npy or .safetensors file", f.out)
		}
		// Say now, not after the model ran, that the file cannot be written.
		if err := tensorout.CheckWritable(f.out); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		inputs := []string{f.weights, f.config, f.image, f.input, f.labels,
			filepath.Join(f.weights, "model.safetensors"), filepath.Join(f.weights, "config.json")}
		if err := tensorout.CheckNotInput(f.out, inputs...); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
	}
	if f.save != "features" && f.save != "pooled" && f.save != "logits" {
		return fmt.Errorf("-save %q: want features, pooled or logits", f.save)
	}
	// The architecture: -config (timm's config.json, or a family's own
	// resolved form), a hub folder's config.json, the file's config
	// metadata, or the tensors alone.
	configJSON, err := readConfig(f.weights, f.config)
	if err != nil {
		return err
	}
	if configJSON != nil {
		// Checked here too, to name the file in the error.
		if _, err := nn.ReadHub(configJSON); err != nil {
			name := f.config
			if name == "" {
				name = filepath.Join(f.weights, "config.json")
			}
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	opts.Config = configJSON
	if f.edge == "" {
		opts.Edge = commandEdge(f.weights, configJSON)
	}
	m, err := anyres.Load(f.weights, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	info := m.Info()
	hub := hubOf(configJSON)
	if labels == nil {
		labels = hub.Labels(info.NumClasses)
	}
	if info.Transformers != nil && info.Transformers.Skipped != "" {
		fmt.Fprintln(os.Stderr, info.Transformers.Skipped)
	}

	var x imageprep.Image
	var what string
	if f.input != "" {
		if x, err = readInput(f.input); err != nil {
			return err
		}
		what = fmt.Sprintf("%s: %dx%dx%d input", filepath.Base(f.input), x.C, x.H, x.W)
	} else {
		if x, what, err = prepareImage(f, m, normSet, target); err != nil {
			return err
		}
	}

	start := time.Now()
	// Printing classes, or saving the logits alone, needs no tokens.
	logitsOnly := f.out == "" || ext == ".npy" && f.save == "logits"
	out := anyres.Output{HeadOnly: logitsOnly && info.NumClasses > 0}
	if err := m.Forward(x, &out); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(os.Stderr, "%s, grid %dx%d + %d prefix tokens, %s, %s\n", what, out.Grid.H, out.Grid.W, out.Prefix, dtypeName(f.dtype, f.reduceRange), elapsed.Round(time.Millisecond))

	if f.out != "" {
		if err := writeFeatures(f, ext, x, &out, info); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", f.out)
		return nil
	}
	if info.Transformers != nil && info.Transformers.Logits == "image_embeds" {
		fmt.Fprintf(stdout, "this model's head is a projection: image_embeds of %d values (first %d: %s); use -out to save features\n",
			len(out.Logits), min(5, len(out.Logits)), fmtFloats(out.Logits[:min(5, len(out.Logits))]))
		return nil
	}
	if len(out.Logits) == 0 {
		fmt.Fprintf(stdout, "this model has no classifier head: pooled feature of %d values (first %d: %s); use -out to save features\n",
			len(out.Pooled), min(5, len(out.Pooled)), fmtFloats(out.Pooled[:min(5, len(out.Pooled))]))
		return nil
	}
	if labels != nil && len(labels) != len(out.Logits) {
		fmt.Fprintf(os.Stderr, "warning: %d labels for %d classes\n", len(labels), len(out.Logits))
	}
	return printTop(stdout, out.Logits, labels, f.top)
}

// readConfig reads -config, or a hub folder's config.json; nil when there
// is neither.
func readConfig(weights, config string) ([]byte, error) {
	if config != "" {
		return tensorfile.ReadFileLimit(config, tensorfile.MaxConfigBytes, "config file")
	}
	if fi, err := os.Stat(weights); err == nil && fi.IsDir() {
		b, err := tensorfile.ReadFileLimit(filepath.Join(weights, "config.json"), tensorfile.MaxConfigBytes, "config file")
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	return nil, nil
}

// readInput reads a normalised float32 C×H×W (or 1×C×H×W) tensor.
func readInput(path string) (imageprep.Image, error) {
	v, shape, err := tensorfile.ReadNPY(path)
	if err != nil {
		return imageprep.Image{}, err
	}
	x, err := modelinput.Tensor(v, shape)
	if err != nil {
		return x, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// prepareImage decodes the photo and makes the model's input: size by
// -size, -tokens (by the model's budget rule) or the photo's own,
// normalised as the model says (Info.Input: preprocessor_config.json's
// mean, std and rescale factor, else config.json's mean/std, else the
// architecture's default), or by -norm. A folder's image processor
// (Info.Input.Processor) gives, without -size or -tokens, the resize and
// crop.
func prepareImage(f runFlags, m anyres.Model, normSet bool, target imageprep.Size) (imageprep.Image, string, error) {
	proc := m.Info().Input.Processor
	norm, err := modelNorm(m.Info(), f.norm, normSet)
	if err != nil {
		return imageprep.Image{}, "", err
	}
	photo, err := imageprep.Load(f.image)
	if err != nil {
		return imageprep.Image{}, "", err
	}
	warnFlip(os.Stderr, photo.Bounds().Dy(), photo.Bounds().Dx(), target)
	if proc != nil && f.size == "" && f.tokens == 0 {
		return processorImage(f, m, photo, *proc, norm)
	}
	opts := modelinput.Options{Size: target, Tokens: f.tokens, Norm: norm, MaxTokens: f.maxTokens}
	if proc != nil {
		opts.Filter = proc.Filter
	}
	x, err := modelinput.Prepare(m, photo, opts)
	switch {
	case errors.Is(err, nn.ErrTooManyTokens):
		return imageprep.Image{}, "", fmt.Errorf("%s: %w; use -tokens %d (or -size, or raise -max-tokens)", f.image, err, min(1024, m.MaxTokens()-m.Info().Prefix))
	case errors.Is(err, nn.ErrImage):
		return imageprep.Image{}, "", fmt.Errorf("%s: %w; use -size or -tokens to enlarge it", f.image, err)
	case err != nil:
		return imageprep.Image{}, "", fmt.Errorf("%s: %w", f.image, err)
	}
	b := photo.Bounds()
	return x, fmt.Sprintf("%s: %dx%d photo, input %dx%d", filepath.Base(f.image), b.Dy(), b.Dx(), x.H, x.W), nil
}

// modelNorm is the model's normalisation (Info.Input.Norm), or -norm's
// when given. anyres serve uses it too.
func modelNorm(info anyres.Info, name string, nameSet bool) (imageprep.Norm, error) {
	if nameSet {
		return imageprep.NormByName(name)
	}
	return info.Input.Norm, nil
}

// printTop prints the k most probable classes: rank, index, probability
// (softmax of the logits) and label.
func printTop(w io.Writer, logits []float32, labels []string, k int) error {
	top, err := modelinput.Top(logits, k)
	if err != nil {
		return err
	}
	for r, c := range top {
		name := ""
		if c.Index < len(labels) {
			name = "  " + labels[c.Index]
		}
		fmt.Fprintf(w, "%2d. class %4d  %6.2f%%%s\n", r+1, c.Index, 100*c.Prob, name)
	}
	return nil
}

// writeFeatures writes the run's outputs: every one to a .safetensors
// file (with the sizes in its metadata), or the one -save names to .npy.
func writeFeatures(f runFlags, ext string, x imageprep.Image, out *anyres.Output, info anyres.Info) error {
	d := info.Width
	n := len(out.Tokens) / d
	if ext == ".npy" {
		switch f.save {
		case "pooled":
			if len(out.Pooled) == 0 {
				return errors.New("-save pooled: this model does no pooling")
			}
			return tensorout.WriteNPYFile(f.out, []int{1, len(out.Pooled)}, out.Pooled)
		case "logits":
			if len(out.Logits) == 0 {
				return errors.New("-save logits: this model has no classifier head")
			}
			return tensorout.WriteNPYFile(f.out, []int{1, len(out.Logits)}, out.Logits)
		}
		return tensorout.WriteNPYFile(f.out, []int{1, n, d}, out.Tokens)
	}
	t := map[string]tensorout.Tensor{"features": tensorout.F32([]int{1, n, d}, out.Tokens)}
	transformersOutputs(t, info, out, n)
	if len(out.Pooled) > 0 {
		t["pooled"] = tensorout.F32([]int{1, len(out.Pooled)}, out.Pooled)
	}
	if len(out.Logits) > 0 {
		t["logits"] = tensorout.F32([]int{1, len(out.Logits)}, out.Logits)
	}
	meta := map[string]string{
		"family":        info.Family,
		"image":         f.image + f.input,
		"input_size":    fmt.Sprintf("[%d, %d]", x.H, x.W),
		"grid":          fmt.Sprintf("[%d, %d]", out.Grid.H, out.Grid.W),
		"prefix_tokens": strconv.Itoa(out.Prefix),
		"token_order":   "[class token][register tokens][patch tokens, row-major]",
		"config":        string(info.Config),
	}
	return tensorout.WriteSafetensorsFile(f.out, t, meta)
}

// commandEdge is the command's edge policy when -edge is not given: the
// family's own rule (pad where the config sets dynamic_img_pad or
// transformers pads, else crop), except where that rule refuses the size:
// there crop. A file that cannot be opened here keeps the family's rule
// (Load then says why it cannot be opened).
func commandEdge(weights string, configJSON []byte) anyres.EdgePolicy {
	arch := ""
	if configJSON != nil {
		if _, isHF, _ := nn.ParseTransformers(configJSON); isHF {
			return nn.EdgeDefault // transformers' own rule (Swin pads)
		}
		if h, err := nn.ReadHub(configJSON); err == nil && h != nil {
			arch = h.Architecture
		}
	}
	if fi, err := os.Stat(weights); err == nil && fi.IsDir() {
		weights = filepath.Join(weights, "model.safetensors")
	}
	tf, err := tensorfile.Open(weights)
	if err != nil {
		return nn.EdgeDefault
	}
	defer tf.Close()
	// A family whose own rule refuses sides that are not whole patches
	// (nn.Family.WholeSides) keeps it in the library; the command, without
	// -edge, crops instead, so that its default runs any photo.
	if fam, ok := nn.Pick(arch, tf); ok && fam.WholeSides {
		return nn.EdgeCrop
	}
	return nn.EdgeDefault
}

// warnFlip warns when -size (HxW: height first) turns an h×w photo from
// landscape to portrait or back: most often a size given width first.
func warnFlip(w io.Writer, h, wd int, target imageprep.Size) {
	if target.H == 0 || target.W == 0 {
		return
	}
	if (h > wd && target.H < target.W) || (h < wd && target.H > target.W) {
		to := "a portrait"
		if target.W > target.H {
			to = "a landscape"
		}
		fmt.Fprintf(w, "warning: -size %s is HxW (%d high, %d wide): it makes the %dx%d photo (%d high, %d wide) %s; -size %dx%d keeps its orientation\n",
			target, target.H, target.W, h, wd, h, wd, to, target.W, target.H)
	}
}

// storedDType is the dtype a checkpoint written by anyres quantize
// records (its anyres_quantize metadata: "int8: ..." or "bf16: ..."), which
// run uses when -dtype is not given; else f32. A file that cannot be
// opened here is f32 (Load then says why it cannot be opened).
func storedDType(weights string) string {
	if fi, err := os.Stat(weights); err == nil && fi.IsDir() {
		weights = filepath.Join(weights, "model.safetensors")
	}
	tf, err := tensorfile.Open(weights)
	if err != nil {
		return nn.F32
	}
	defer tf.Close()
	rec, _, _ := strings.Cut(tf.Metadata()["anyres_quantize"], ":")
	if rec == nn.Int8 || rec == nn.BF16 {
		return rec
	}
	return nn.F32
}

// dtypeName is the number format the timing line names.
func dtypeName(dtype string, reduceRange bool) string {
	if dtype == "" {
		return nn.F32
	}
	if reduceRange {
		return dtype + " (7-bit weights)"
	}
	return dtype
}

func parseEdge(s string) (anyres.EdgePolicy, error) {
	switch s {
	case "":
		return nn.EdgeDefault, nil
	case "pad":
		return nn.EdgePad, nil
	case "crop":
		return nn.EdgeCrop, nil
	case "resize":
		return nn.EdgeResize, nil
	}
	return 0, fmt.Errorf("-edge %q: want pad, crop or resize", s)
}

// readLabels reads class names: one per line, or a JSON list of strings.
func readLabels(path string) ([]string, error) {
	b, err := tensorfile.ReadFileLimit(path, tensorfile.MaxLabelsBytes, "labels file")
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "[") {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return l, nil
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines, nil
}

func fmtFloats(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(float64(x), 'g', 4, 32)
	}
	return strings.Join(s, " ")
}
