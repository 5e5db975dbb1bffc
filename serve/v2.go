package serve

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"

	"github.com/anyres/anyres/nn"
)

// The Open Inference Protocol v2 (KServe's v2 REST API): the model takes
// one input, normalised pixels, and gives up to three outputs.
const (
	v2Input   = "pixel_values"
	v2Version = "1"
	// v2MaxImages bounds the images of one infer request.
	v2MaxImages = 256
)

type v2Meta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

type v2Tensor struct {
	Name       string          `json:"name"`
	Shape      []int           `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data"`
}

type v2Request struct {
	ID         string         `json:"id,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Inputs     []v2Tensor     `json:"inputs"`
	Outputs    []struct {
		Name       string         `json:"name"`
		Parameters map[string]any `json:"parameters,omitempty"`
	} `json:"outputs,omitempty"`
}

type v2Output struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
	Data     floats `json:"data"`
}

type v2Response struct {
	Model   string     `json:"model_name"`
	Version string     `json:"model_version"`
	ID      string     `json:"id,omitempty"`
	Outputs []v2Output `json:"outputs"`
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": "anyres", "version": v2Version, "extensions": []string{}})
}

// model checks the model name (and version) of a v2 URL.
func (s *Server) model(w http.ResponseWriter, r *http.Request) bool {
	if n := r.PathValue("name"); n != s.name {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q: this server runs %q", n, s.name))
		return false
	}
	if v := r.PathValue("version"); v != "" && v != v2Version {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q has no version %q: it has version %q", s.name, v, v2Version))
		return false
	}
	return true
}

// outputsMeta lists the outputs the model has, in the order answers give them.
func (s *Server) outputsMeta() []v2Meta {
	o := []v2Meta{{"features", "FP32", []int{-1, -1, s.info.Width}}}
	if n := len(s.probe.Pooled); n > 0 {
		o = append(o, v2Meta{"pooled", "FP32", []int{-1, n}})
	}
	if n := len(s.probe.Logits); n > 0 {
		o = append(o, v2Meta{"logits", "FP32", []int{-1, n}})
	}
	return o
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	if !s.model(w, r) {
		return
	}
	n := s.cfg.Norm
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     s.name,
		"versions": []string{v2Version},
		"platform": "anyres",
		"inputs":   []v2Meta{{v2Input, "FP32", []int{-1, s.info.Channels, -1, -1}}},
		"outputs":  s.outputsMeta(),
		// What a client needs to make the input: NCHW pixels in [0, 1]
		// normalised by mean and std, at most max_tokens tokens an image.
		"parameters": map[string]any{
			"family": s.info.Family, "architecture": s.info.Architecture,
			"patch_size": s.info.Patch, "prefix_tokens": s.info.Prefix,
			"mean": n.Mean, "std": n.Std, "max_tokens": s.cfg.MaxTokens,
		},
	})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if !s.model(w, r) {
		return
	}
	ready := !s.closing.Load()
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"name": s.name, "ready": ready})
}

// infer answers POST /v2/models/{name}/infer: a batch of N same-size
// normalised images as an FP32 N×C×H×W tensor; each image goes through the
// batcher on its own.
func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	if !s.model(w, r) || s.refuseWhenFull(w) {
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		fail(w, err)
		return
	}
	var req v2Request
	if err := json.Unmarshal(body, &req); err != nil {
		fail(w, badRequest("the body is not an inference request: %v", err))
		return
	}
	body = nil
	imgs, err := s.v2Images(&req)
	if err != nil {
		fail(w, err)
		return
	}
	names, err := s.v2OutputNames(&req)
	if err != nil {
		fail(w, err)
		return
	}
	outs := make([]nn.Output, len(imgs))
	headOnly := !slices.Contains(names, "features")
	for i := range outs {
		outs[i].HeadOnly = headOnly
	}
	errs := make([]error, len(imgs))
	var wg sync.WaitGroup
	for i := range imgs {
		wg.Go(func() { errs[i] = s.run.Forward(r.Context(), imgs[i], &outs[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fail(w, err)
			return
		}
	}
	resp := v2Response{Model: s.name, Version: v2Version, ID: req.ID}
	for _, name := range names {
		resp.Outputs = append(resp.Outputs, v2Gather(name, outs, s.info.Width))
	}
	writeJSON(w, http.StatusOK, resp)
}

// v2Gather stacks one output of every image into an N×... tensor.
func v2Gather(name string, outs []nn.Output, width int) v2Output {
	pick := func(o *nn.Output) []float32 {
		switch name {
		case "pooled":
			return o.Pooled
		case "logits":
			return o.Logits
		}
		return o.Tokens
	}
	per := len(pick(&outs[0]))
	data := make([]float32, 0, per*len(outs))
	for i := range outs {
		data = append(data, pick(&outs[i])...)
	}
	shape := []int{len(outs), per}
	if name == "features" {
		shape = []int{len(outs), per / width, width}
	}
	return v2Output{Name: name, Datatype: "FP32", Shape: shape, Data: data}
}

// v2OutputNames are the outputs a request asks for: all of the model's
// when it names none.
func (s *Server) v2OutputNames(req *v2Request) ([]string, error) {
	have := map[string]bool{}
	var all []string
	for _, m := range s.outputsMeta() {
		have[m.Name] = true
		all = append(all, m.Name)
	}
	if len(req.Outputs) == 0 {
		return all, nil
	}
	var names []string
	seen := map[string]bool{}
	for _, o := range req.Outputs {
		if !have[o.Name] {
			return nil, badRequest("unknown output %q: this model has %v", o.Name, all)
		}
		if len(o.Parameters) > 0 {
			return nil, badRequest("output %q: parameters %v are not supported (binary outputs: POST /image?format=npy)", o.Name, keys(o.Parameters))
		}
		if !seen[o.Name] {
			seen[o.Name] = true
			names = append(names, o.Name)
		}
	}
	return names, nil
}

// v2Images checks the request's one input and reads it as images.
func (s *Server) v2Images(req *v2Request) ([]nn.Image, error) {
	if len(req.Parameters) > 0 {
		return nil, badRequest("request parameters %v are not supported", keys(req.Parameters))
	}
	if len(req.Inputs) != 1 {
		return nil, badRequest("%d inputs: want one, %q", len(req.Inputs), v2Input)
	}
	in := &req.Inputs[0]
	switch {
	case in.Name != v2Input:
		return nil, badRequest("input %q: want %q", in.Name, v2Input)
	case in.Datatype != "FP32":
		return nil, badRequest("input %q: datatype %q: want FP32 (normalised pixels)", in.Name, in.Datatype)
	case len(in.Parameters) > 0:
		return nil, badRequest("input %q: parameters %v are not supported (binary inputs: POST /image with an .npy body)", in.Name, keys(in.Parameters))
	case len(in.Shape) != 4:
		return nil, badRequest("input %q: shape %v: want N×C×H×W", in.Name, in.Shape)
	}
	n, c, h, w := in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3]
	if n < 1 || n > v2MaxImages {
		return nil, badRequest("input %q: shape %v: want 1 to %d images", in.Name, in.Shape, v2MaxImages)
	}
	if err := s.checkTensor(c, h, w); err != nil {
		return nil, badRequest("input %q: shape %v: %v", in.Name, in.Shape, err)
	}
	// Every value takes at least two bytes of JSON ("0,"): a shape the
	// data cannot fill is refused before its buffer is allocated.
	total := int64(n) * int64(c) * int64(h) * int64(w)
	if total > int64(len(in.Data))/2+1 {
		return nil, badRequest("input %q: shape %v needs %d values; the data cannot hold them", in.Name, in.Shape, total)
	}
	pix := make([]float32, total)
	if err := parseData(in.Data, in.Shape, pix); err != nil {
		return nil, badRequest("input %q: data: %v", in.Name, err)
	}
	imgs := make([]nn.Image, n)
	per := c * h * w
	for i := range imgs {
		imgs[i] = nn.Image{C: c, H: h, W: w, Pix: pix[i*per : (i+1)*per : (i+1)*per]}
	}
	return imgs, nil
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
