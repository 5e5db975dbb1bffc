package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
	"github.com/anyres/anyres/vit"
	"github.com/nlpodyssey/safetensors"
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
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > tensorfile.MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is over the %d-byte limit", path, fi.Size(), int64(tensorfile.MaxFileSize))
	}
	data, err := os.ReadFile(path)
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
	cfgText, where := f.Metadata()["config"], path+": metadata config"
	if configPath != "" {
		b, err := os.ReadFile(configPath)
		if err != nil {
			return nil, err
		}
		cfgText, where = string(b), configPath
		if hub, ok := nn.ParseHub(b); ok {
			// timm's hub config.json names an architecture: turn it into
			// anyres's resolved form, which is what gets stored.
			cfg, err := vit.InferConfig(f, hub)
			if err != nil {
				return nil, fmt.Errorf("%s with %s: %w", path, configPath, err)
			}
			j, err := cfg.JSON()
			if err != nil {
				return nil, err
			}
			cfgText = string(j)
		}
	}
	if cfgText != "" {
		if err := json.Unmarshal([]byte(cfgText), &c.config); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	return c, nil
}

// posLayout is how a checkpoint's pos_embed table (1 × rows × dim) is laid
// out: prefix rows for the class and register tokens (none when the model
// was built with no_embed_class), then a grid of patch positions in
// row-major order.
type posLayout struct {
	prefix int // rows of the table before the grid
	grid   posenc.Grid
	dim    int
	patch  [2]int // patch size, from patch_embed.proj.weight
}

// layout reads the pos_embed table's layout from the config, or, without
// one, infers it: prefix rows from the cls_token and reg_token tensors, a
// square grid from what remains.
func (c *checkpoint) layout() (posLayout, error) {
	var l posLayout
	shape, err := c.file.Shape("pos_embed")
	if err != nil {
		return l, fmt.Errorf("%s has no learned position table (pos_embed): %w", c.path, err)
	}
	if len(shape) != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 {
		return l, fmt.Errorf("%s: pos_embed has shape %v, want 1×rows×dim", c.path, shape)
	}
	rows := shape[1]
	l.dim = shape[2]
	if ks, err := c.file.Shape("patch_embed.proj.weight"); err == nil && len(ks) == 4 {
		l.patch = [2]int{ks[2], ks[3]}
	}
	prefix := 0
	if c.file.Has("cls_token") {
		prefix++
	}
	if s, err := c.file.Shape("reg_token"); err == nil && len(s) == 3 {
		prefix += s[1]
	}
	if c.config != nil {
		if b, ok := c.config["no_embed_class"].(bool); ok && b {
			prefix = 0
		}
		img, okImg := pair(c.config["img_size"])
		patch, okPatch := pair(c.config["patch_size"])
		if okPatch {
			l.patch = patch
		}
		if okImg && okPatch && patch[0] > 0 && patch[1] > 0 {
			l.prefix, l.grid = prefix, posenc.Grid{H: img[0] / patch[0], W: img[1] / patch[1]}
			if l.prefix+l.grid.N() != rows {
				return l, fmt.Errorf("%s: config img_size %v, patch_size %v and %d prefix tokens need %d pos_embed rows; the table has %d",
					c.path, img, patch, prefix, l.prefix+l.grid.N(), rows)
			}
			return l, nil
		}
	}
	// No usable config: a square grid after the prefix rows, or, failing
	// that, a square grid alone (no_embed_class).
	for _, p := range []int{prefix, 0} {
		if s := int(math.Round(math.Sqrt(float64(rows - p)))); rows > p && s*s == rows-p {
			l.prefix, l.grid = p, posenc.Grid{H: s, W: s}
			return l, nil
		}
	}
	return l, fmt.Errorf("%s: cannot tell the grid of a %d-row pos_embed without a config (give -config with img_size and patch_size)", c.path, rows)
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
