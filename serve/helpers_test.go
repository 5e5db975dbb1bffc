package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

// tinyModel loads the small test checkpoint.
func tinyModel(t testing.TB) anyres.Model {
	t.Helper()
	m, err := anyres.Load(filepath.Join(golden.Dir(t), "..", "models", "vit_tiny.safetensors"), anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// start runs a server for cfg on a loopback port and returns it with its
// base URL; the test's cleanup shuts it down.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	skipWithoutSockets(t)
	if cfg.Norm == (imageprep.Norm{}) {
		cfg.Norm = imageprep.ImageNet
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, "http://" + l.Addr().String()
}

// client has generous timeouts: a busy machine must not fail a test.
var client = &http.Client{Timeout: 2 * time.Minute}

// call sends a request and returns the status and body.
func call(t *testing.T, method, url, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// decode unmarshals an answer body, failing the test when it is not JSON.
func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("answer %.200s: %v", b, err)
	}
}

// randomImage is a c×h×w image of values in [-2, 2).
func randomImage(seed uint64, c, h, w int) nn.Image {
	r := rand.New(rand.NewPCG(seed, 2))
	pix := make([]float32, c*h*w)
	for i := range pix {
		pix[i] = 4*r.Float32() - 2
	}
	return nn.Image{C: c, H: h, W: w, Pix: pix}
}

// photo is an h×w PNG with a colourful pattern.
func photo(t testing.TB, h, w int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 7), G: uint8(y * 5), B: uint8((x * y) % 251), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// npy is img as a 1×C×H×W .npy file.
func npy(t testing.TB, img nn.Image) []byte {
	var buf bytes.Buffer
	if err := tensorout.WriteNPY(&buf, []int{1, img.C, img.H, img.W}, img.Pix); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// v2Body is an infer request for images of one size, data flat or nested.
func v2Body(imgs []nn.Image, nested bool, outputs ...string) []byte {
	c, h, w := imgs[0].C, imgs[0].H, imgs[0].W
	var b strings.Builder
	fmt.Fprintf(&b, `{"id": "req-1", "inputs": [{"name": "pixel_values", "datatype": "FP32", "shape": [%d, %d, %d, %d], "data": `, len(imgs), c, h, w)
	open, close := func(string) {}, func(string) {}
	if nested {
		open, close = func(s string) { b.WriteString(s) }, func(s string) { b.WriteString(s) }
	}
	b.WriteString("[")
	for i, img := range imgs {
		if i > 0 {
			b.WriteString(",")
		}
		open("[")
		for ch := range c {
			if ch > 0 {
				b.WriteString(",")
			}
			open("[")
			for y := range h {
				if y > 0 {
					b.WriteString(",")
				}
				open("[")
				for x := range w {
					if x > 0 {
						b.WriteString(",")
					}
					fmt.Fprint(&b, img.Pix[(ch*h+y)*w+x])
				}
				close("]")
			}
			close("]")
		}
		close("]")
	}
	b.WriteString("]}]")
	if len(outputs) > 0 {
		b.WriteString(`, "outputs": [`)
		for i, o := range outputs {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name": %q}`, o)
		}
		b.WriteString("]")
	}
	b.WriteString("}")
	return []byte(b.String())
}

// within reports the first value of got off want by more than 1e-5
// (relative to max(1, |want|)), or "".
func within(name string, got, want []float32) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
			return fmt.Sprintf("%s[%d] = %g, want %g", name, i, got[i], want[i])
		}
	}
	return ""
}

// gated is a model whose passes can be held: while held, a pass waits for
// release (and says it started), so tests can fill the queue without
// assuming any speed.
type gated struct {
	nn.Net
	mu      sync.Mutex
	gate    chan struct{}
	started chan struct{}
}

func (g *gated) hold() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.started = make(chan struct{}), make(chan struct{}, 64)
	return g.started
}

func (g *gated) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gated) wait() {
	g.mu.Lock()
	gate, started := g.gate, g.started
	g.mu.Unlock()
	if gate != nil {
		started <- struct{}{}
		<-gate
	}
}

func (g *gated) ForwardBatch(imgs []nn.Image, outs []nn.Output) error {
	g.wait()
	return g.Net.ForwardBatch(imgs, outs)
}

func (g *gated) Forward(img nn.Image, out *nn.Output) error {
	g.wait()
	return g.Net.Forward(img, out)
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// skipWithoutSockets skips where there are no TCP sockets (WebAssembly).
func skipWithoutSockets(t *testing.T) {
	if runtime.GOOS == "wasip1" || runtime.GOOS == "js" {
		t.Skip("no TCP sockets on " + runtime.GOOS)
	}
}
