package imageprep

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
)

// Processor is a Hugging Face image processor as its
// preprocessor_config.json states it (ViTImageProcessor,
// DeiTImageProcessor, BitImageProcessor, CLIPImageProcessor,
// SiglipImageProcessor, BeitImageProcessor, ...): resize (to an exact
// size, or the shortest edge to a length), center crop, rescale and
// normalise.
type Processor struct {
	Type string // image_processor_type, for messages
	// Resize: Size (height × width), or, when ShortestEdge > 0, the
	// shorter side to ShortestEdge with the aspect ratio kept (the longer
	// side truncated, as transformers computes it). Neither: no resize.
	Size         Size
	ShortestEdge int
	Filter       Filter
	Crop         Size // center crop after the resize; zero: none
	// Norm is the whole per-channel map from 8-bit values, the rescale
	// factor folded in: v·rescale_factor is normalised by image_mean and
	// image_std, which is (v/255 − m/(255·r)) / (s/(255·r)).
	Norm Norm
}

// ParseProcessor reads a preprocessor_config.json. A value that cannot
// describe a preprocessing (a negative or zero size, a zero std, an
// unknown resample) is an error naming the field.
func ParseProcessor(data []byte) (Processor, error) {
	var c struct {
		Type        string          `json:"image_processor_type"`
		DoResize    *bool           `json:"do_resize"`
		Size        json.RawMessage `json:"size"`
		Resample    *int            `json:"resample"`
		DoCrop      *bool           `json:"do_center_crop"`
		CropSize    json.RawMessage `json:"crop_size"`
		DoRescale   *bool           `json:"do_rescale"`
		Rescale     *float64        `json:"rescale_factor"`
		DoNormalize *bool           `json:"do_normalize"`
		Mean        []float64       `json:"image_mean"`
		Std         []float64       `json:"image_std"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return Processor{}, fmt.Errorf("imageprep: preprocessor_config.json: %w", err)
	}
	p := Processor{Type: c.Type, Norm: Identity}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("imageprep: preprocessor_config.json "+format, a...)
	}
	on := func(b *bool) bool { return b == nil || *b }
	if on(c.DoResize) {
		if len(c.Size) == 0 {
			return Processor{}, bad("do_resize without size")
		}
		var err error
		if p.Size, p.ShortestEdge, err = processorSize("size", c.Size); err != nil {
			return Processor{}, err
		}
		if c.Resample != nil {
			if p.Filter, err = PILFilter(*c.Resample); err != nil {
				return Processor{}, bad("resample: %v", err)
			}
		}
	}
	if c.DoCrop != nil && *c.DoCrop {
		s, edge, err := processorSize("crop_size", c.CropSize)
		if err != nil {
			return Processor{}, err
		}
		if edge > 0 {
			return Processor{}, bad("crop_size: want height and width")
		}
		p.Crop = s
	}
	r := 1.0
	if on(c.DoRescale) {
		r = 1.0 / 255
		if c.Rescale != nil {
			r = *c.Rescale
		}
		if !(r > 0) || math.IsInf(r, 0) {
			return Processor{}, bad("rescale_factor %g: want a positive number", r)
		}
	}
	mean, std := []float64{0, 0, 0}, []float64{1, 1, 1}
	if on(c.DoNormalize) {
		mean, std = c.Mean, c.Std
		if len(mean) == 1 {
			mean = []float64{mean[0], mean[0], mean[0]}
		}
		if len(std) == 1 {
			std = []float64{std[0], std[0], std[0]}
		}
		if len(mean) != 3 {
			return Processor{}, bad("image_mean %v: want three values", c.Mean)
		}
		if len(std) != 3 {
			return Processor{}, bad("image_std %v: want three values", c.Std)
		}
	}
	for i := range 3 {
		if math.IsNaN(mean[i]) || math.IsInf(mean[i], 0) {
			return Processor{}, bad("image_mean[%d] %g: want a finite number", i, mean[i])
		}
		if !(std[i] > 0) || math.IsInf(std[i], 0) {
			return Processor{}, bad("image_std[%d] %g: want a positive number", i, std[i])
		}
		k := 255 * r
		p.Norm.Mean[i], p.Norm.Std[i] = float32(mean[i]/k), float32(std[i]/k)
	}
	if err := p.Norm.Validate(); err != nil {
		return Processor{}, bad("image_mean/image_std with rescale_factor: %v", err)
	}
	return p, nil
}

// processorSize reads a size field: {"height", "width"}, {"shortest_edge"}
// or a bare number (square).
func processorSize(field string, raw json.RawMessage) (Size, int, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("imageprep: preprocessor_config.json %s"+format, append([]any{field}, a...)...)
	}
	ok := func(v float64) bool { return v >= 1 && v <= MaxSide && v == math.Trunc(v) }
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		if !ok(n) {
			return Size{}, 0, bad(" %g: want a whole number in 1..%d", n, MaxSide)
		}
		return Size{H: int(n), W: int(n)}, 0, nil
	}
	var m map[string]float64
	if err := json.Unmarshal(raw, &m); err != nil {
		return Size{}, 0, bad(" %s: want {\"height\", \"width\"} or {\"shortest_edge\"}", raw)
	}
	for k, v := range m {
		switch k {
		case "height", "width", "shortest_edge":
			if !ok(v) {
				return Size{}, 0, bad(".%s %g: want a whole number in 1..%d", k, v, MaxSide)
			}
		default:
			return Size{}, 0, bad(".%s: anyres reads height and width, or shortest_edge", k)
		}
	}
	if e, has := m["shortest_edge"]; has {
		if len(m) > 1 {
			return Size{}, 0, bad(": shortest_edge with height or width")
		}
		return Size{}, int(e), nil
	}
	h, hasH := m["height"]
	w, hasW := m["width"]
	if !hasH || !hasW {
		return Size{}, 0, bad(": want both height and width")
	}
	return Size{H: int(h), W: int(w)}, 0, nil
}

// TargetSize is the size the processor's resize gives an image of size
// src (before the crop).
func (p Processor) TargetSize(src Size) Size {
	switch {
	case p.ShortestEdge > 0:
		short, long := min(src.H, src.W), max(src.H, src.W)
		l := max(1, int(float64(p.ShortestEdge)*float64(long)/float64(short)))
		if src.H <= src.W {
			return Size{H: p.ShortestEdge, W: l}
		}
		return Size{H: l, W: p.ShortestEdge}
	case p.Size != (Size{}):
		return p.Size
	}
	return src
}

// OutputSize is the size of the tensor Prepare makes from an image of
// size src.
func (p Processor) OutputSize(src Size) Size {
	if p.Crop != (Size{}) {
		return p.Crop
	}
	return p.TargetSize(src)
}

// Prepare resizes, crops and normalises img as the processor does.
func (p Processor) Prepare(img image.Image, l Limits) (Image, error) {
	b := img.Bounds()
	src := Size{H: b.Dy(), W: b.Dx()}
	if src.H <= 0 || src.W <= 0 {
		return Image{}, fmt.Errorf("imageprep: image is empty (%v)", src)
	}
	l = l.orDefault()
	if err := l.checkImage("image", src.H, src.W); err != nil {
		return Image{}, err
	}
	if dst := p.TargetSize(src); dst != src {
		r, err := l.ResizeFilter(img, dst.H, dst.W, p.Filter)
		if err != nil {
			return Image{}, err
		}
		img = r
	}
	if c := p.Crop; c != (Size{}) {
		b := img.Bounds()
		if c.H > b.Dy() || c.W > b.Dx() {
			return Image{}, fmt.Errorf("imageprep: crop_size %v is larger than the resized image %dx%d", c, b.Dy(), b.Dx())
		}
		// transformers' center_crop: top = (h − crop_h)/2, truncated.
		top, left := b.Min.Y+(b.Dy()-c.H)/2, b.Min.X+(b.Dx()-c.W)/2
		img = Opaque(img).SubImage(image.Rect(left, top, left+c.W, top+c.H))
	}
	return toImage(img, p.Norm, l)
}
