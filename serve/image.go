package serve

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/modelinput"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

// imageRequest is what POST /image asks for, from its query.
type imageRequest struct {
	outputs map[string]bool // features, pooled, logits, top
	k       int
	size    imageprep.Size
	tokens  int
	sized   bool // the query gave size or tokens
	npy     bool // answer with the one output as an .npy file
}

// imageAnswer is POST /image's JSON answer.
type imageAnswer struct {
	Model    string   `json:"model"`
	Input    [2]int   `json:"input_size"`
	Grid     [2]int   `json:"grid"`
	Prefix   int      `json:"prefix_tokens"`
	Features *tensor  `json:"features,omitempty"`
	Pooled   floats   `json:"pooled,omitempty"`
	Logits   floats   `json:"logits,omitempty"`
	Top      []ranked `json:"top,omitempty"`
}

type tensor struct {
	Shape []int  `json:"shape"`
	Data  floats `json:"data"`
}

type ranked struct {
	Class int     `json:"class"`
	Label string  `json:"label,omitempty"`
	Prob  float64 `json:"prob"`
}

// image answers POST /image: a PNG or JPEG photo (sized and normalised the
// way `anyres run` does), or a normalised float32 C×H×W .npy tensor (run as
// it is), in the body.
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseImageQuery(r)
	if err != nil {
		fail(w, err)
		return
	}
	if s.refuseWhenFull(w) {
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		fail(w, err)
		return
	}
	x, err := s.imageInput(body, q)
	if err != nil {
		fail(w, err)
		return
	}
	// Without features the forward pass may stop short of the tokens the
	// head does not read.
	out := nn.Output{HeadOnly: !q.outputs["features"]}
	if err := s.run.Forward(r.Context(), x, &out); err != nil {
		fail(w, err)
		return
	}
	d := s.info.Width
	if q.npy {
		shape, data := []int{1, len(out.Tokens) / d, d}, out.Tokens
		switch {
		case q.outputs["pooled"]:
			shape, data = []int{1, len(out.Pooled)}, out.Pooled
		case q.outputs["logits"]:
			shape, data = []int{1, len(out.Logits)}, out.Logits
		}
		w.Header().Set("Content-Type", "application/x-npy")
		tensorout.WriteNPY(w, shape, data)
		return
	}
	a := imageAnswer{Model: s.name, Input: [2]int{x.H, x.W}, Grid: [2]int{out.Grid.H, out.Grid.W}, Prefix: out.Prefix}
	if q.outputs["features"] {
		a.Features = &tensor{Shape: []int{len(out.Tokens) / d, d}, Data: out.Tokens}
	}
	if q.outputs["pooled"] {
		a.Pooled = out.Pooled
	}
	if q.outputs["logits"] {
		a.Logits = out.Logits
	}
	if q.outputs["top"] {
		top, err := modelinput.Top(out.Logits, q.k)
		if err != nil {
			// Photos are normalised, so non-finite logits from one are
			// the server's fault; a tensor's values are the client's.
			if tensorBody(body) {
				err = badRequest("%v (an .npy body's values outside the range of normalised pixels?)", err)
			}
			fail(w, err)
			return
		}
		for _, c := range top {
			rc := ranked{Class: c.Index, Prob: c.Prob}
			if c.Index < len(s.cfg.Labels) {
				rc.Label = s.cfg.Labels[c.Index]
			}
			a.Top = append(a.Top, rc)
		}
	}
	writeJSON(w, http.StatusOK, a)
}

// parseImageQuery reads POST /image's options; an unknown one is an error,
// not ignored.
func (s *Server) parseImageQuery(r *http.Request) (imageRequest, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return imageRequest{}, badRequest("query: %v", err)
	}
	q := imageRequest{outputs: map[string]bool{}, k: DefaultTop, tokens: s.cfg.Tokens}
	one := func(key string) string { return vals.Get(key) }
	for key, v := range vals {
		if len(v) > 1 {
			return q, badRequest("query: %s given %d times", key, len(v))
		}
		switch key {
		case "output", "k", "size", "tokens", "format":
		default:
			return q, badRequest("query: unknown option %q (have output, k, size, tokens, format)", key)
		}
	}
	hasHead, hasPool := len(s.probe.Logits) > 0, len(s.probe.Pooled) > 0
	outs := one("output")
	if outs == "" {
		outs = "pooled"
		if hasHead {
			outs = "top"
		}
	}
	for _, o := range strings.Split(outs, ",") {
		switch o {
		case "features":
		case "pooled":
			if !hasPool {
				return q, badRequest("output=pooled: this model does no pooling")
			}
		case "logits", "top":
			if !hasHead {
				return q, badRequest("output=%s: this model has no classifier head", o)
			}
		default:
			return q, badRequest("output=%q: want a comma-separated list of features, pooled, logits and top", o)
		}
		q.outputs[o] = true
	}
	q.sized = one("size") != "" || one("tokens") != ""
	if v := one("k"); v != "" {
		if q.k, err = strconv.Atoi(v); err != nil || q.k < 1 {
			return q, badRequest("k=%q: want a positive number of classes", v)
		}
	}
	if v := one("tokens"); v != "" {
		if q.tokens, err = strconv.Atoi(v); err != nil || q.tokens < 1 || q.tokens > s.cfg.MaxTokens {
			return q, badRequest("tokens=%q: want a token budget from 1 to %d", v, s.cfg.MaxTokens)
		}
	}
	if v := one("size"); v != "" {
		if one("tokens") != "" {
			return q, badRequest("give size or tokens, not both")
		}
		if q.size, err = imageprep.ParseSize(v); err != nil {
			return q, badRequest("size=%q: %v", v, err)
		}
		q.tokens = 0
	}
	switch f := one("format"); {
	case f == "npy" || f == "" && r.Header.Get("Accept") == "application/x-npy":
		q.npy = true
		if len(q.outputs) != 1 || q.outputs["top"] {
			return q, badRequest("format=npy holds one tensor: ask for output=features, pooled or logits")
		}
	case f != "" && f != "json":
		return q, badRequest("format=%q: want json or npy", f)
	}
	return q, nil
}

// imageInput makes the model's input from a request body: an .npy tensor
// as it is, or a photo decoded within the limits, sized and normalised.
func (s *Server) imageInput(body []byte, q imageRequest) (imageprep.Image, error) {
	if tensorBody(body) {
		if q.sized {
			return imageprep.Image{}, badRequest("an .npy tensor is run as it is: size and tokens apply to photos")
		}
		v, shape, err := tensorfile.ParseNPY(body)
		if err != nil {
			return imageprep.Image{}, badRequest(".npy body: %v", err)
		}
		x, err := modelinput.Tensor(v, shape)
		if err != nil {
			return x, badRequest(".npy body: %v", err)
		}
		return x, s.checkTensor(x.C, x.H, x.W)
	}
	photo, err := s.limits.Decode(bytes.NewReader(body))
	if err != nil {
		return imageprep.Image{}, badRequest("body: %v (want a PNG or JPEG photo, or an .npy tensor)", err)
	}
	x, err := modelinput.Prepare(s.cfg.Model, photo, modelinput.Options{Size: q.size, Tokens: q.tokens, Norm: s.cfg.Norm, MaxTokens: s.cfg.MaxTokens, Limits: s.limits})
	if err != nil {
		return imageprep.Image{}, badRequest("%v; ask for fewer tokens (tokens=N) or a size (size=HxW)", err)
	}
	return x, nil
}

// tensorBody reports whether a request body is an .npy tensor rather than
// a photo.
func tensorBody(body []byte) bool { return bytes.HasPrefix(body, []byte("\x93NUMPY")) }

// checkTensor checks a tensor input's size against the model and the
// server's limits.
func (s *Server) checkTensor(c, h, w int) error {
	p := s.info.Patch
	switch {
	case c != s.info.Channels:
		return badRequest("%d channels: the model takes %d", c, s.info.Channels)
	case h < p[0] || w < p[1]:
		return badRequest("a %dx%d image is smaller than one %dx%d patch", h, w, p[0], p[1])
	case h > nn.MaxSide || w > nn.MaxSide || int64(h)*int64(w) > s.cfg.MaxPixels:
		return badRequest("a %dx%d image is over the limit of %d pixels", h, w, s.cfg.MaxPixels)
	}
	if g := s.cfg.Model.Grid(h, w); g.N()+s.info.Prefix > s.cfg.MaxTokens {
		return badRequest("a %dx%d image is a %v grid, %d tokens, over the limit of %d", h, w, g, g.N()+s.info.Prefix, s.cfg.MaxTokens)
	}
	return nil
}
