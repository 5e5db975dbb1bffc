package serve

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/modelinput"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/serve/batch"
)

func TestHealthAndMetadata(t *testing.T) {
	m := tinyModel(t)
	info := m.Info()
	s, url := start(t, Config{Model: m})
	name := s.Name()
	var probe nn.Output
	p := info.Patch
	if err := m.Forward(nn.Image{C: 3, H: p[0], W: p[1], Pix: make([]float32, 3*p[0]*p[1])}, &probe); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/" + name + "/ready", "/v2/models/" + name + "/versions/1/ready"} {
		if code, b := call(t, "GET", url+path, "", nil); code != 200 {
			t.Errorf("GET %s: %d %s", path, code, b)
		}
	}
	for _, path := range []string{"/v2/models/" + name, "/v2/models/" + name + "/versions/1"} {
		code, b := call(t, "GET", url+path, "", nil)
		var meta struct {
			Name    string
			Inputs  []v2Meta
			Outputs []v2Meta
		}
		decode(t, b, &meta)
		if code != 200 || meta.Name != name || len(meta.Inputs) != 1 || meta.Inputs[0].Shape[1] != info.Channels {
			t.Errorf("GET %s: %d %s", path, code, b)
		}
		want := map[string]int{"features": info.Width, "pooled": len(probe.Pooled), "logits": len(probe.Logits)}
		for _, o := range meta.Outputs {
			if w := o.Shape[len(o.Shape)-1]; w != want[o.Name] {
				t.Errorf("output %s: width %d, want %d", o.Name, w, want[o.Name])
			}
			delete(want, o.Name)
		}
		for n, w := range want {
			if w > 0 {
				t.Errorf("output %s is missing from the metadata", n)
			}
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v2/models/nope"}, {"GET", "/v2/models/nope/ready"}, {"POST", "/v2/models/nope/infer"},
		{"GET", "/v2/models/" + name + "/versions/2"}, {"GET", "/nowhere"},
	} {
		code, b := call(t, c.method, url+c.path, "application/json", []byte("{}"))
		var e struct{ Error string }
		decode(t, b, &e)
		if code != 404 || e.Error == "" {
			t.Errorf("%s %s: %d %s, want 404 with a message", c.method, c.path, code, b)
		}
	}
}

// v2 infer answers what the model gives each image alone, for flat and
// nested data, with the outputs asked for.
func TestInferMatchesModel(t *testing.T) {
	m := tinyModel(t)
	s, url := start(t, Config{Model: m})
	p := m.Info().Patch
	imgs := []nn.Image{randomImage(1, 3, 2*p[0], 3*p[1]), randomImage(2, 3, 2*p[0], 3*p[1])}
	want := make([]nn.Output, len(imgs))
	for i := range imgs {
		if err := m.Forward(imgs[i], &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, nested := range []bool{false, true} {
		code, b := call(t, "POST", url+"/v2/models/"+s.Name()+"/infer", "application/json", v2Body(imgs, nested))
		if code != 200 {
			t.Fatalf("nested %v: %d %s", nested, code, b)
		}
		var resp struct {
			ID      string
			Outputs []struct {
				Name     string
				Datatype string
				Shape    []int
				Data     []float32
			}
		}
		decode(t, b, &resp)
		if resp.ID != "req-1" || len(resp.Outputs) != 3 {
			t.Fatalf("answer id %q with %d outputs, want req-1 and 3", resp.ID, len(resp.Outputs))
		}
		for _, o := range resp.Outputs {
			var parts [][]float32
			for i := range want {
				parts = append(parts, map[string][]float32{"features": want[i].Tokens, "pooled": want[i].Pooled, "logits": want[i].Logits}[o.Name])
			}
			wantShape := []int{len(imgs), len(parts[0])}
			if o.Name == "features" {
				wantShape = []int{len(imgs), len(parts[0]) / m.Info().Width, m.Info().Width}
			}
			if fmt.Sprint(o.Shape) != fmt.Sprint(wantShape) || o.Datatype != "FP32" {
				t.Errorf("%s: %s %v, want FP32 %v", o.Name, o.Datatype, o.Shape, wantShape)
			}
			if msg := within(o.Name, o.Data, append(parts[0], parts[1]...)); msg != "" {
				t.Errorf("nested %v: %s", nested, msg)
			}
		}
	}
	code, b := call(t, "POST", url+"/v2/models/"+s.Name()+"/infer", "application/json", v2Body(imgs[:1], false, "logits"))
	if code != 200 || strings.Contains(string(b), `"pooled"`) || !strings.Contains(string(b), `"logits"`) {
		t.Errorf("outputs=[logits]: %d %.300s", code, b)
	}
}

// POST /image prepares a photo the way anyres run does and answers with
// the outputs asked for; an .npy body runs as it is.
func TestImageEndpoint(t *testing.T) {
	m := tinyModel(t)
	labels := make([]string, m.Info().NumClasses)
	for i := range labels {
		labels[i] = fmt.Sprintf("label %d", i)
	}
	_, url := start(t, Config{Model: m, Labels: labels})
	png := photo(t, 50, 70)
	decoded, err := imageprep.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		query string
		opts  modelinput.Options
	}{
		{"output=features,pooled,logits,top&k=3", modelinput.Options{}},
		{"output=pooled,logits&tokens=12", modelinput.Options{Tokens: 12}},
		{"output=pooled,logits&size=48x32", modelinput.Options{Size: imageprep.Size{H: 48, W: 32}}},
	} {
		q.opts.Norm = imageprep.ImageNet
		x, err := modelinput.Prepare(m, decoded, q.opts)
		if err != nil {
			t.Fatal(err)
		}
		var want nn.Output
		if err := m.Forward(x, &want); err != nil {
			t.Fatal(err)
		}
		code, b := call(t, "POST", url+"/image?"+q.query, "image/png", png)
		if code != 200 {
			t.Fatalf("%s: %d %s", q.query, code, b)
		}
		var a struct {
			Input    [2]int `json:"input_size"`
			Features *struct {
				Shape []int
				Data  []float32
			}
			Pooled, Logits []float32
			Top            []struct {
				Class int
				Label string
				Prob  float64
			}
		}
		decode(t, b, &a)
		if a.Input != [2]int{x.H, x.W} {
			t.Errorf("%s: input %v, want %dx%d", q.query, a.Input, x.H, x.W)
		}
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"pooled", a.Pooled, want.Pooled}, {"logits", a.Logits, want.Logits}} {
			if msg := within(c.name, c.got, c.want); msg != "" {
				t.Errorf("%s: %s", q.query, msg)
			}
		}
		if strings.Contains(q.query, "features") {
			if a.Features == nil {
				t.Fatalf("%s: no features", q.query)
			}
			if msg := within("features", a.Features.Data, want.Tokens); msg != "" {
				t.Errorf("%s: %s", q.query, msg)
			}
		}
		if strings.Contains(q.query, "top") {
			top, err := modelinput.Top(want.Logits, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Top) != 3 {
				t.Fatalf("%d classes, want 3", len(a.Top))
			}
			for i, c := range top {
				if a.Top[i].Class != c.Index || a.Top[i].Label != labels[c.Index] {
					t.Errorf("top %d: %+v, want class %d %q", i, a.Top[i], c.Index, labels[c.Index])
				}
			}
		}
	}
	// An .npy tensor in, an .npy tensor out.
	img := randomImage(3, 3, 2*m.Info().Patch[0], 2*m.Info().Patch[1])
	var want nn.Output
	if err := m.Forward(img, &want); err != nil {
		t.Fatal(err)
	}
	code, b := call(t, "POST", url+"/image?output=pooled&format=npy", "application/x-npy", npy(t, img))
	if code != 200 {
		t.Fatalf("npy: %d %s", code, b)
	}
	got, shape, err := tensorfile.ParseNPY(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(shape) != fmt.Sprint([]int{1, len(want.Pooled)}) {
		t.Errorf("npy answer shape %v", shape)
	}
	if msg := within("pooled", got, want.Pooled); msg != "" {
		t.Error(msg)
	}
}

// Concurrent clients of both endpoints with images of different sizes each
// get what the model gives their image alone.
func TestConcurrentClientsMatchSingleRuns(t *testing.T) {
	m := tinyModel(t)
	s, url := start(t, Config{Model: m})
	p := m.Info().Patch
	const clients = 8
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			img := randomImage(uint64(10+i), 3, (1+i%3)*p[0], (1+i%4)*p[1]+i%5)
			var want nn.Output
			if err := m.Forward(img, &want); err != nil {
				t.Error(err)
				return
			}
			for r := range 3 {
				if (i+r)%2 == 0 {
					code, b := call(t, "POST", url+"/v2/models/"+s.Name()+"/infer", "application/json", v2Body([]nn.Image{img}, false, "logits"))
					var resp struct{ Outputs []struct{ Data []float32 } }
					decode(t, b, &resp)
					if code != 200 || len(resp.Outputs) != 1 {
						t.Errorf("client %d: %d %.200s", i, code, b)
					} else if msg := within("logits", resp.Outputs[0].Data, want.Logits); msg != "" {
						t.Errorf("client %d infer: %s", i, msg)
					}
					continue
				}
				code, b := call(t, "POST", url+"/image?output=pooled", "application/x-npy", npy(t, img))
				var a struct{ Pooled []float32 }
				decode(t, b, &a)
				if code != 200 {
					t.Errorf("client %d: %d %s", i, code, b)
				} else if msg := within("pooled", a.Pooled, want.Pooled); msg != "" {
					t.Errorf("client %d image: %s", i, msg)
				}
			}
		})
	}
	wg.Wait()
}

// /metrics is well-formed exposition text that counts what happened.
func TestMetrics(t *testing.T) {
	m := tinyModel(t)
	_, url := start(t, Config{Model: m})
	img := randomImage(1, 3, m.Info().Patch[0], m.Info().Patch[1])
	const n = 3
	for range n {
		if code, b := call(t, "POST", url+"/image", "application/x-npy", npy(t, img)); code != 200 {
			t.Fatalf("%d %s", code, b)
		}
	}
	call(t, "POST", url+"/image", "", []byte("not an image"))
	code, b := call(t, "GET", url+"/metrics", "", nil)
	if code != 200 {
		t.Fatal(code)
	}
	text := string(b)
	line := regexp.MustCompile(`^[a-z_]+(\{([a-z]+="[^"]*",?)*\})? ([0-9.e+-]+|\+Inf)$`)
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(l, "# HELP ") && !strings.HasPrefix(l, "# TYPE ") && !line.MatchString(l) {
			t.Errorf("malformed line %q", l)
		}
	}
	for _, want := range []string{
		fmt.Sprintf(`anyres_requests_total{endpoint="POST /image",code="200"} %d`, n),
		`anyres_requests_total{endpoint="POST /image",code="400"} 1`,
		fmt.Sprintf(`anyres_request_duration_seconds_count{endpoint="POST /image"} %d`, n+1),
		fmt.Sprintf(`anyres_batch_images_count %d`, n), // one pass per request, sent one after another
		"anyres_queue_length 0",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	m := tinyModel(t)
	for name, cfg := range map[string]Config{
		"no model":         {Norm: imageprep.ImageNet},
		"zero std":         {Model: m, Norm: imageprep.Norm{Std: [3]float32{1, 0, 1}}},
		"negative timeout": {Model: m, Norm: imageprep.ImageNet, ReadTimeout: -1},
		"negative limit":   {Model: m, Norm: imageprep.ImageNet, MaxPixels: -1},
		"name with slash":  {Model: m, Norm: imageprep.ImageNet, Name: "a/b"},
		"negative queue":   {Model: m, Norm: imageprep.ImageNet, Batch: batch.Options{Queue: -1}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// No Norm: the model's own (Info.Input.Norm, set by the front door).
	s, err := New(Config{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if want := m.Info().Input.Norm; s.cfg.Norm != want || want.Validate() != nil {
		t.Errorf("a zero Norm became %v, want the model's %v", s.cfg.Norm, want)
	}
}
