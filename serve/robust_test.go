package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/serve/batch"
)

// pngHeader is a PNG whose header claims an h×w image and whose data is
// a few bytes: the decompression bomb's first step.
func pngHeader(h, w int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00})
	chunk("IEND", nil)
	return b.Bytes()
}

// withValue is img with element i set to v.
func withValue(img nn.Image, i int, v float32) nn.Image {
	img.Pix = append([]float32(nil), img.Pix...)
	img.Pix[i] = v
	return img
}

// scaled is img with every value times f.
func scaled(img nn.Image, f float32) nn.Image {
	img.Pix = append([]float32(nil), img.Pix...)
	for i := range img.Pix {
		img.Pix[i] *= f
	}
	return img
}

// Bad input: each a 4xx with a message, and the server keeps serving.
func TestBadInput(t *testing.T) {
	m := tinyModel(t)
	const maxBody = 256 << 10
	s, url := start(t, Config{Model: m, MaxBodyBytes: maxBody, MaxPixels: 1 << 20, MaxTokens: 64})
	p := m.Info().Patch
	good := randomImage(1, 3, 2*p[0], 2*p[1])
	png := photo(t, 40, 40)
	infer := "/v2/models/" + s.Name() + "/infer"
	v2 := func(shape, dtype, data string) []byte {
		return []byte(fmt.Sprintf(`{"inputs": [{"name": "pixel_values", "datatype": %q, "shape": %s, "data": %s}]}`, dtype, shape, data))
	}
	small := fmt.Sprintf("[1, 3, %d, %d]", p[0], p[1])
	zeros := "[" + strings.Repeat("0,", 3*p[0]*p[1]-1) + "0]"
	// Nested to the shape, but the last row one value short.
	row := "[" + strings.Repeat("0,", p[1]-1) + "0]"
	plane := "[" + strings.Repeat(row+",", p[0]-1) + row + "]"
	ragged := "[[" + plane + "," + plane + "," + strings.TrimSuffix(plane, row+"]") + strings.TrimSuffix(row, ",0]") + "]]]]"
	cases := []struct {
		name, path string
		body       []byte
		code       int
		msg        string
	}{
		{"body past the limit", "/image", make([]byte, maxBody+1), 413, "limit"},
		{"empty body", "/image", nil, 400, "empty"},
		{"not an image", "/image", []byte("hello, server"), 400, "PNG or JPEG"},
		{"truncated PNG", "/image", png[:len(png)/2], 400, "image"},
		{"decompression bomb", "/image", pngHeader(50000, 50000), 400, "pixel limit"},
		{"photo over the token cap", "/image?size=400x400", png, 400, "tokens"},
		{"unknown option", "/image?colour=blue", png, 400, "unknown option"},
		{"unknown output", "/image?output=colours", png, 400, "output"},
		{"npy of one tensor only", "/image?output=pooled,logits&format=npy", png, 400, "one tensor"},
		{"npy and a size", "/image?size=32x32", npy(t, good), 400, "as it is"},
		{"npy with 1 channel", "/image", npy(t, randomImage(1, 1, 2*p[0], 2*p[1])), 400, "channels"},
		{"npy over the token cap", "/image", npy(t, randomImage(1, 3, 9*p[0], 9*p[1])), 400, "tokens"},
		{"npy truncated", "/image", npy(t, good)[:200], 400, "npy"},
		{"npy with a NaN", "/image?output=pooled", npy(t, withValue(good, 77, float32(math.NaN()))), 400, "element 77 of"},
		{"npy with an Inf", "/image?output=pooled", npy(t, withValue(good, 0, float32(math.Inf(-1)))), 400, "want finite values"},
		{"not JSON", infer, []byte("{\"inputs\": ["), 400, "inference request"},
		{"no inputs", infer, []byte(`{"inputs": []}`), 400, "want one"},
		{"wrong input name", infer, []byte(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [0]}]}`), 400, "pixel_values"},
		{"wrong dtype", infer, v2(small, "INT32", zeros), 400, "FP32"},
		{"three dims", infer, v2(fmt.Sprintf("[3, %d, %d]", p[0], p[1]), "FP32", zeros), 400, "N×C×H×W"},
		{"four channels", infer, v2(fmt.Sprintf("[1, 4, %d, %d]", p[0], p[1]), "FP32", zeros), 400, "channels"},
		{"too few values", infer, v2(fmt.Sprintf("[2, 3, %d, %d]", p[0], p[1]), "FP32", zeros), 400, "values"},
		{"too many values", infer, v2(small, "FP32", "[0,"+zeros[1:]), 400, "values"},
		{"ragged nesting", infer, v2(small, "FP32", ragged), 400, "elements"},
		{"a string value", infer, v2(small, "FP32", `["a"`+zeros[2:]), 400, "number"},
		{"a huge shape", infer, v2("[1, 3, 30000, 30000]", "FP32", "[0]"), 400, "limit"},
		{"a million images", infer, v2(fmt.Sprintf("[1000000, 3, %d, %d]", p[0], p[1]), "FP32", "[0]"), 400, "images"},
		{"unknown output name", infer, []byte(strings.TrimSuffix(string(v2(small, "FP32", zeros)), "}") + `, "outputs": [{"name": "colours"}]}`), 400, "unknown output"},
		{"binary output asked", infer, []byte(strings.TrimSuffix(string(v2(small, "FP32", zeros)), "}") + `, "outputs": [{"name": "logits", "parameters": {"binary_data": true}}]}`), 400, "not supported"},
	}
	for _, c := range cases {
		code, b := call(t, "POST", url+c.path, "application/octet-stream", c.body)
		var e struct{ Error string }
		decode(t, b, &e)
		if code != c.code || !strings.Contains(e.Error, c.msg) {
			t.Errorf("%s: %d %q, want %d mentioning %q", c.name, code, e.Error, c.code, c.msg)
		}
	}
	// A body past the limit sent chunked (no declared length) is cut off
	// while it is read.
	req, _ := http.NewRequest("POST", url+"/image", io.MultiReader(bytes.NewReader(make([]byte, maxBody)), strings.NewReader("x")))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != -1 && req.ContentLength != 0 || resp.StatusCode != 413 {
		t.Errorf("chunked body past the limit: %d (declared length %d), want 413", resp.StatusCode, req.ContentLength)
	}
	// Finite values far past any pixel overflow inside the model or not
	// (the kernels and the weights decide): the logits are then refused
	// with a 400, or top-k answers without NaN.
	if code, b := call(t, "POST", url+"/image", "application/octet-stream", npy(t, scaled(good, 1e38))); code != 200 && code != 400 ||
		code == 400 && !strings.Contains(string(b), "not finite") || code == 200 && strings.Contains(string(b), "NaN") {
		t.Errorf("an .npy body of ±1e38 values: %d %s", code, b)
	}
	if code, b := call(t, "POST", url+"/image", "image/png", png); code != 200 {
		t.Errorf("a good request after the bad ones: %d %s", code, b)
	}
}

// A full queue answers 503 at once, with Retry-After; the requests already
// admitted are answered when the pass ends.
func TestOverload(t *testing.T) {
	for _, unbatched := range []bool{false, true} {
		t.Run(fmt.Sprintf("unbatched=%v", unbatched), func(t *testing.T) {
			g := &gated{Net: tinyModel(t)}
			s, url := start(t, Config{Model: g, Unbatched: unbatched, Batch: batch.Options{Queue: 1, Wait: -1}})
			body := npy(t, randomImage(1, 3, 32, 32))
			started := g.hold()
			var wg sync.WaitGroup
			codes := make([]int, 2)
			wg.Go(func() { codes[0], _ = call(t, "POST", url+"/image", "", body) })
			<-started
			if !unbatched {
				// One in the pass, one in the queue.
				wg.Go(func() { codes[1], _ = call(t, "POST", url+"/image", "", body) })
				waitFor(t, "a queued request", func() bool { return s.run.QueueLen() == 1 })
			}
			req, _ := http.NewRequest("POST", url+"/image", bytes.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "overloaded") {
				t.Errorf("past the queue: %d %q %s, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), b)
			}
			g.release()
			wg.Wait()
			if codes[0] != 200 || !unbatched && codes[1] != 200 {
				t.Errorf("admitted requests: %v, want 200", codes)
			}
		})
	}
}

// A client that leaves while its request is queued takes it out of the
// queue; one that disconnects mid-body leaves nothing behind.
func TestClientsThatLeave(t *testing.T) {
	g := &gated{Net: tinyModel(t)}
	s, url := start(t, Config{Model: g, Batch: batch.Options{Wait: -1}})
	body := npy(t, randomImage(1, 3, 32, 32))
	started := g.hold()
	first := make(chan int)
	go func() { c, _ := call(t, "POST", url+"/image", "", body); first <- c }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/image", bytes.NewReader(body))
	left := make(chan error)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		left <- err
	}()
	waitFor(t, "the second request to queue", func() bool { return s.run.QueueLen() == 1 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("the leaving client got %v", err)
	}
	waitFor(t, "the left request to leave the queue", func() bool { return s.run.QueueLen() == 0 })
	g.release()
	if c := <-first; c != 200 {
		t.Errorf("the first request: %d", c)
	}

	// Mid-body disconnects.
	addr := strings.TrimPrefix(url, "http://")
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /image HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body))
		c.Write(body[:len(body)/3])
		c.Close()
	}
	waitFor(t, "no request in flight", func() bool {
		s.metrics.mu.Lock()
		defer s.metrics.mu.Unlock()
		return s.metrics.inFlight == 0
	})
	if code, b := call(t, "POST", url+"/image", "", body); code != 200 {
		t.Errorf("after the disconnects: %d %s", code, b)
	}
}

// Shutdown answers every request in flight (queued ones too), exactly
// once, and refuses new connections.
func TestShutdownFinishesInFlight(t *testing.T) {
	g := &gated{Net: tinyModel(t)}
	s, url := start(t, Config{Model: g, Batch: batch.Options{Wait: -1}})
	body := npy(t, randomImage(1, 3, 32, 32))
	started := g.hold()
	const n = 4
	codes := make(chan int, n)
	var wg sync.WaitGroup
	wg.Go(func() { c, _ := call(t, "POST", url+"/image", "", body); codes <- c })
	<-started
	for range n - 1 {
		wg.Go(func() { c, _ := call(t, "POST", url+"/image", "", body); codes <- c })
	}
	waitFor(t, "three queued requests", func() bool { return s.run.QueueLen() == n-1 })
	shut := make(chan error)
	go func() { shut <- s.Shutdown(context.Background()) }()
	addr := strings.TrimPrefix(url, "http://")
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	g.release()
	wg.Wait()
	close(codes)
	got := 0
	for c := range codes {
		if c != 200 {
			t.Errorf("a request in flight got %d", c)
		}
		got++
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	s.metrics.mu.Lock()
	answered := s.metrics.requests[[2]string{"POST /image", "200"}]
	s.metrics.mu.Unlock()
	if got != n || answered != n {
		t.Errorf("%d answers received, %d sent, want %d each", got, answered, n)
	}
}

// Slow clients (slowloris: headers or body a trickle) are cut off by the
// read timeouts while others are served.
func TestSlowClients(t *testing.T) {
	m := tinyModel(t)
	_, url := start(t, Config{Model: m, ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: time.Second})
	addr := strings.TrimPrefix(url, "http://")
	body := npy(t, randomImage(1, 3, 32, 32))
	trickle := func(head string) (time.Duration, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		begin := time.Now()
		io.WriteString(c, head)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(time.Minute))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return time.Since(begin), line
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if d, line := trickle("POST /image HTTP/1.1\r\nHost: x\r\nX-Slow: "); d > 50*time.Second || line != "" {
			t.Errorf("trickled headers: cut after %v with %q, want closed", d, line)
		}
	})
	wg.Go(func() {
		d, line := trickle(fmt.Sprintf("POST /image HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body)))
		if d > 50*time.Second || line != "" && !strings.Contains(line, "408") {
			t.Errorf("trickled body: cut after %v with %q, want 408 or closed", d, line)
		}
	})
	if code, b := call(t, "POST", url+"/image", "", body); code != 200 {
		t.Errorf("while slow clients trickle: %d %s", code, b)
	}
	wg.Wait()
}

// Many idle connections (never a request, or idle after one) neither stop
// others being served nor stay open past the timeouts.
func TestManyIdleConnections(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	m := tinyModel(t)
	_, url := start(t, Config{Model: m, ReadHeaderTimeout: time.Second, IdleTimeout: time.Second})
	addr := strings.TrimPrefix(url, "http://")
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 1 {
			// Idle after one request (keep-alive).
			io.WriteString(c, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			resp.Body.Close()
		}
	}
	if code, b := call(t, "POST", url+"/image", "", npy(t, randomImage(1, 3, 32, 32))); code != 200 {
		t.Errorf("with %d idle connections: %d %s", n, code, b)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		var one [1]byte
		if _, err := c.Read(one[:]); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("idle connection %d: %v, want closed by the server", i, err)
		}
	}
	waitFor(t, "the connections' goroutines to end", func() bool { return runtime.NumGoroutine() <= before+10 })
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
