package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/nn"
)

// FuzzHandler sends arbitrary requests (a route, a query, a body) to the
// server's routes, in process, with and without batching: nothing may
// panic, every refusal is a 4xx or 503 whose body is {"error": message},
// and no answer is a 500 — a 500 would mean a client's bad input reached a
// failure the server did not recognise as the client's. The seeds are the requests of TestBadInput's
// kind and good ones of every route.
func FuzzHandler(f *testing.F) {
	m := tinyModel(f)
	// Both runners: the batcher, and each request alone (Unbatched).
	var hs [2]http.Handler
	var s *Server
	for i := range hs {
		srv, err := New(Config{Model: m, Norm: imageprep.ImageNet, MaxBodyBytes: 64 << 10, MaxPixels: 1 << 16, MaxTokens: 64, Unbatched: i == 1})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				f.Errorf("shutdown: %v", err)
			}
		})
		s, hs[i] = srv, srv.Handler()
	}
	p := m.Info().Patch
	routes := []struct{ method, path string }{
		{"POST", "/image"},
		{"POST", "/v2/models/" + s.Name() + "/infer"},
		{"GET", "/v2/models/" + s.Name()},
		{"POST", "/v2/models/" + s.Name() + "/versions/1/infer"},
		{"GET", "/v2/health/ready"},
		{"GET", "/metrics"},
	}
	// Small seeds: the engine minimizes every input that widens coverage,
	// and a long JSON body takes it a minute.
	good := randomImage(1, 3, p[0], p[1])
	png := photo(f, 24, 40)
	f.Add(uint8(0), "", png)
	f.Add(uint8(0), "output=top,pooled&k=3", png)
	f.Add(uint8(0), "size=32x48&format=npy&output=logits", png)
	f.Add(uint8(0), "tokens=4", png)
	f.Add(uint8(0), "", npy(f, good))
	f.Add(uint8(0), "output=features", npy(f, good)[:150])
	f.Add(uint8(0), "", pngHeader(4000, 4000))
	f.Add(uint8(1), "", v2Body([]nn.Image{good}, false))
	f.Add(uint8(1), "", v2Body([]nn.Image{good, good}, true, "pooled", "features"))
	f.Add(uint8(1), "", []byte(fmt.Sprintf(`{"inputs": [{"name": "pixel_values", "datatype": "FP32", "shape": [1, 3, %d, %d], "data": [1e39]}]}`, p[0], p[1])))
	f.Add(uint8(3), "", []byte(`{"id": "x", "inputs": [{"name": "pixel_values", "datatype": "FP32", "shape": [0, 3, 1, 1], "data": []}]}`))
	f.Add(uint8(0x80), "output=pooled,logits", png)
	f.Add(uint8(0x81), "", v2Body([]nn.Image{good}, false, "logits"))
	f.Add(uint8(2), "", []byte(nil))
	f.Add(uint8(4), "", []byte(nil))
	f.Add(uint8(5), "", []byte(nil))
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := routes[int(route&0x7f)%len(routes)]
		h := hs[route>>7] // the top bit picks the unbatched server
		u := &url.URL{Path: r.path, RawQuery: query}
		req, err := http.NewRequest(r.method, u.String(), bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		code, ans := w.Code, w.Body.Bytes()
		switch {
		case code == http.StatusInternalServerError || code < 200 || code > 503:
			t.Fatalf("%s %s: %d %.300s", r.method, u, code, ans)
		case code >= 400 && r.path != "/metrics":
			var e struct{ Error string }
			if json.Unmarshal(ans, &e) != nil || e.Error == "" {
				t.Fatalf("%s %s: %d without an error message: %.300s", r.method, u, code, ans)
			}
		}
	})
}
