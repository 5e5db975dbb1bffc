package imageprep

import (
	"encoding/json"
	"fmt"
	"math"
)

// Norm is the per-channel (R, G, B) normalisation a model was trained with:
// each value v in [0, 1] becomes (v - Mean[c]) / Std[c].
type Norm struct {
	Mean, Std [3]float32
}

// The normalisations timm's pretrained models use (timm.data.constants).
var (
	// ImageNet is torchvision's and most ImageNet-1k models' (ResNet, DeiT, Swin).
	ImageNet = Norm{Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	// Inception maps [0, 1] to [-1, 1]: Google's ViT and AugReg checkpoints (timm's vit_*_augreg_*).
	Inception = Norm{Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	// CLIP is OpenAI CLIP's, also used by EVA and many CLIP-derived ViTs.
	CLIP = Norm{Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
	// Identity leaves values in [0, 1].
	Identity = Norm{Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}
)

// NormByName returns one of the named normalisations: imagenet, inception,
// clip or none.
func NormByName(name string) (Norm, error) {
	switch name {
	case "imagenet":
		return ImageNet, nil
	case "inception":
		return Inception, nil
	case "clip":
		return CLIP, nil
	case "none":
		return Identity, nil
	}
	return Norm{}, fmt.Errorf("unknown normalisation %q (want imagenet, inception, clip or none)", name)
}

// Validate reports whether every std is a positive finite number and every
// mean finite.
func (n Norm) Validate() error {
	for c := range 3 {
		m, s := float64(n.Mean[c]), float64(n.Std[c])
		if math.IsNaN(m) || math.IsInf(m, 0) || !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("imageprep: normalisation mean %v std %v: want finite means and positive stds", n.Mean, n.Std)
		}
	}
	return nil
}

// NormFromConfig finds a model's mean and std in a JSON config: timm's
// pretrained_cfg ({"pretrained_cfg": {"mean": [...], "std": [...]}}, as in
// the config.json of timm models on the Hugging Face hub) or top-level
// "mean" and "std". ok is false when the config names neither.
func NormFromConfig(config []byte) (n Norm, ok bool, err error) {
	var c struct {
		Mean, Std  []float64
		Pretrained *struct {
			Mean, Std []float64
		} `json:"pretrained_cfg"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return Norm{}, false, fmt.Errorf("imageprep: config: %w", err)
	}
	mean, std := c.Mean, c.Std
	if c.Pretrained != nil && c.Pretrained.Mean != nil {
		mean, std = c.Pretrained.Mean, c.Pretrained.Std
	}
	if mean == nil && std == nil {
		return Norm{}, false, nil
	}
	if len(mean) != 3 || len(std) != 3 {
		return Norm{}, false, fmt.Errorf("imageprep: config mean %v and std %v: want three values each", mean, std)
	}
	for c := range 3 {
		n.Mean[c], n.Std[c] = float32(mean[c]), float32(std[c])
	}
	if err := n.Validate(); err != nil {
		return Norm{}, false, err
	}
	return n, true, nil
}
