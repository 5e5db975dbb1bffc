package main

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/nlpodyssey/safetensors"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
	"github.com/anyres/anyres/vit"
)

// checkpoint is a timm ViT checkpoint (safetensors, timm state_dict names)
// read whole into memory, for the commands that inspect or rewrite one.
type checkpoint struct {
	path   string
	data   []byte
	file   *tensorfile.File        // float32 views and metadata
	raw    safetensors.SafeTensors // the same tensors as raw bytes, for copying unchanged
	config map[string]any          // the `config` metadata (or -config file) as JSON; nil when there is none
}

// openCheckpoint reads path; configPath, when not empty, names a JSON file
// that replaces the file's own `config` metadata.
func openCheckpoint(path, configPath string) (*checkpoint, error) {
	data, err := tensorfile.ReadWhole(path)
	if err != nil {
		return nil, err
	}
	f, err := tensorfile.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raw, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &checkpoint{path: path, data: data, file: f, raw: raw}
	if err := c.useConfig(configPath); err != nil {
		return nil, err
	}
	return c, nil
}

// useConfig reads the config: configPath (timm's config.json or anyres's
// resolved form) when not empty, else the file's `config` metadata, else
// what the tensors say.
func (c *checkpoint) useConfig(configPath string) error {
	path, f := c.path, c.file
	c.config = nil
	cfgText, where := f.Metadata()["config"], path+": metadata config"
	if configPath != "" {
		b, err := tensorfile.ReadFileLimit(configPath, tensorfile.MaxConfigBytes, "config file")
		if err != nil {
			return err
		}
		cfgText, where = string(b), configPath
		hub, err := nn.ReadHub(b)
		if err != nil {
			return fmt.Errorf("%s: %w", configPath, err)
		}
		if hub != nil {
			// timm's hub config.json names an architecture: turn it into
			// anyres's resolved form, which is what gets stored.
			cfg, err := vit.InferConfig(f, hub)
			if err != nil {
				return fmt.Errorf("%s with %s: %w", path, configPath, err)
			}
			j, err := cfg.JSON()
			if err != nil {
				return err
			}
			cfgText = string(j)
		}
	}
	if cfgText != "" {
		if err := json.Unmarshal([]byte(cfgText), &c.config); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if c.config == nil {
			return fmt.Errorf("%s: not a JSON object", where)
		}
	} else if cfg, err := vit.InferConfig(f, nil); err == nil {
		// No config: what the tensors say, when they say it all, so that
		// a rewritten file records its layout and reads back as written.
		if j, err := cfg.JSON(); err == nil && json.Unmarshal(j, &c.config) != nil {
			c.config = nil
		}
	}
	return nil
}

// posLayout is how a checkpoint's pos_embed table (1 × rows × dim) is laid
// out: prefix rows for the class and register tokens (none when the model
// was built with no_embed_class), then a grid of patch positions in
// row-major order.
type posLayout struct {
	prefix int // rows of the table before the grid
	tokens int // the model's prefix tokens (class, distillation, registers), with a row each or not
	grid   posenc.Grid
	dim    int
	patch  [2]int // patch size, from patch_embed.proj.weight
}

// layout reads the pos_embed table's layout from the config, or, without
// one, infers it: prefix rows from the cls_token, dist_token and reg_token
// tensors, a square grid from what remains.
func (c *checkpoint) layout() (posLayout, error) {
	shape, err := c.file.Shape("pos_embed")
	if err != nil {
		return posLayout{}, fmt.Errorf("%s has no learned position table (pos_embed): %w", c.path, err)
	}
	if len(shape) != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 {
		return posLayout{}, fmt.Errorf("%s: pos_embed has shape %v, want 1×rows×dim", c.path, shape)
	}
	var patch [2]int
	if ks, err := c.file.Shape("patch_embed.proj.weight"); err == nil && len(ks) == 4 {
		patch = [2]int{ks[2], ks[3]}
	}
	prefix := 0
	for _, t := range []string{"cls_token", "dist_token"} {
		if c.file.Has(t) {
			prefix++
		}
	}
	if s, err := c.file.Shape("reg_token"); err == nil && len(s) == 3 {
		prefix += s[1]
	}
	l, err := layoutOf(shape[1], prefix, patch, c.config)
	if err != nil {
		return l, fmt.Errorf("%s: %w", c.path, err)
	}
	l.dim, l.tokens = shape[2], prefix
	return l, nil
}

// layoutOf is the layout of a rows-row table for a model with prefix
// prefix tokens and patch size patch (zero: unknown), as config says (nil:
// no config). It is also how a rewritten table will be read back, so the
// writer can check that it reads back as written.
func layoutOf(rows, prefix int, patch [2]int, config map[string]any) (posLayout, error) {
	l := posLayout{patch: patch}
	if config != nil {
		if b, ok := config["no_embed_class"].(bool); ok && b {
			prefix = 0
		}
		img, okImg := pair(config["img_size"])
		p, okPatch := pair(config["patch_size"])
		if okPatch {
			l.patch = p
		}
		if okImg && okPatch {
			l.prefix, l.grid = prefix, posenc.Grid{H: img[0] / p[0], W: img[1] / p[1]}
			if l.prefix+l.grid.N() != rows {
				return l, fmt.Errorf("config img_size %v, patch_size %v and %d prefix tokens need %d pos_embed rows; the table has %d",
					img, p, prefix, l.prefix+l.grid.N(), rows)
			}
			return l, nil
		}
	}
	// No usable config: a square grid after the prefix rows, or a square
	// grid alone (no_embed_class); when both fit, the table cannot tell.
	var fits []int
	for _, p := range []int{prefix, 0} {
		if s := int(math.Round(math.Sqrt(float64(rows - p)))); rows > p && s*s == rows-p && (len(fits) == 0 || p != fits[0]) {
			fits = append(fits, p)
		}
	}
	switch len(fits) {
	case 1:
		s := int(math.Round(math.Sqrt(float64(rows - fits[0]))))
		l.prefix, l.grid = fits[0], posenc.Grid{H: s, W: s}
		return l, nil
	case 2:
		return l, fmt.Errorf("a %d-row pos_embed is a square grid both after %d prefix rows and without them: give -config with img_size, patch_size and no_embed_class", rows, prefix)
	}
	return l, fmt.Errorf("cannot tell the grid of a %d-row pos_embed without a config (give -config with img_size and patch_size)", rows)
}

// pair reads a JSON size: [h, w] or a single number.
func pair(v any) ([2]int, bool) {
	switch v := v.(type) {
	case float64:
		return [2]int{int(v), int(v)}, sizeOK(v)
	case []any:
		if len(v) != 2 {
			return [2]int{}, false
		}
		h, ok1 := v[0].(float64)
		w, ok2 := v[1].(float64)
		return [2]int{int(h), int(w)}, ok1 && ok2 && sizeOK(h) && sizeOK(w)
	}
	return [2]int{}, false
}

// sizeOK accepts whole numbers from 1 to 2^20: any image side or patch size.
func sizeOK(v float64) bool { return v >= 1 && v <= 1<<20 && v == math.Trunc(v) }
