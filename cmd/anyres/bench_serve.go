package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/serve"
	"github.com/anyres/anyres/serve/batch"
	"github.com/anyres/anyres/vit"
)

func init() {
	benchCommands["serve"] = command{"load test of anyres serve on loopback: direct Forward vs HTTP unbatched vs batched, and 2x overload", runBenchServe}
}

type serveBench struct {
	clients     int
	sizes       [][2]int
	duration    time.Duration
	requests    int
	batchTokens int
	batchWait   time.Duration
	overload    float64 // open-loop rate as a multiple of the batched throughput; 0: skip
	passes      int     // batched server: passes at once
	passThreads int     // batched server: threads of each pass (0: the model's)
	rounds      int     // interleaved slices of the closed-loop modes
}

// loadResult is one mode's figures.
type loadResult struct {
	mode                   string
	sent, ok, rejected     int
	failed                 int
	seconds                float64
	cpu                    time.Duration // this process's CPU time in the mode (clients included), 0 where unknown
	p50, p95, p99, rejp99  time.Duration
	heapPeak, rssPeak      uint64
	rate                   float64 // the open-loop arrival rate, 0 for closed loops
	firstErr               string
	imagesPerSec           float64
	passes, passImages     atomic.Int64 // forward passes and their images (server modes)
	latencies, rejectTimes []time.Duration
}

func runBenchServe(args []string) error {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	weights := fs.String("weights", "", "checkpoint (default: a ViT-S/16 with random weights, timm vit_small_patch16_224's shape)")
	config := fs.String("config", "", "timm's config.json for a bare .safetensors file")
	clients := fs.Int("clients", 8, "concurrent clients")
	sizes := fs.String("size", "224x224,160x320,320x160,192x256", "image sizes HxW the clients send in turn, comma-separated")
	duration := fs.Duration("time", 10*time.Second, "time per mode (the closed-loop modes take it in -rounds interleaved slices)")
	rounds := fs.Int("rounds", 4, "interleaved slices of the closed-loop modes, so that the machine's load drifts alike for each")
	requests := fs.Int("requests", 20000, "requests per mode at most")
	threads := fs.Int("threads", 0, "worker threads of one forward pass (default: all CPUs)")
	batchTokens := fs.Int("batch-tokens", batch.DefaultMaxTokens, "token budget of one packed pass")
	batchWait := fs.Duration("batch-wait", batch.DefaultWait, "how long the first queued image waits for others")
	overload := fs.Float64("overload", 2, "open-loop arrival rate as a multiple of the batched throughput (0: skip)")
	passes := fs.Int("batch-passes", 0, "batched server: packed passes at once (0: passes share the threads, as anyres serve does by default)")
	passThreads := fs.Int("pass-threads", 0, "batched server: threads of each pass (0: all CPUs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *requests < 1 || *duration <= 0 || *rounds < 1 || *overload < 0 || *passes < 0 || *passThreads < 0 {
		return fmt.Errorf("-clients, -requests, -time and -rounds must be positive, -overload, -batch-passes and -pass-threads not negative")
	}
	ss, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	m, name, err := benchServeModel(*weights, *config, *threads, max(*batchTokens, serve.DefaultMaxTokens))
	if err != nil {
		return err
	}
	defer m.Close()
	mc := bench.ThisMachine()
	fmt.Printf("anyres bench serve: %s, sizes %s, %d clients, %v per mode; %s, %d logical CPUs, kernels %s, %s, load %s\n",
		name, *sizes, *clients, *duration, mc.CPU, mc.Cores, mc.Level, mc.Go, mc.Load)
	if *passes == 0 {
		fmt.Printf("batched server: passes share %d threads (-pass-threads; 0: all), token budget %d, wait %v\n", *passThreads, *batchTokens, *batchWait)
	} else {
		fmt.Printf("batched server: %d pass(es) at once, threads per pass %d (0: all), token budget %d, wait %v\n", *passes, *passThreads, *batchTokens, *batchWait)
	}
	rs, err := benchServe(m, serveBench{clients: *clients, sizes: ss, duration: *duration, requests: *requests,
		batchTokens: *batchTokens, batchWait: *batchWait, overload: *overload, passes: *passes, passThreads: *passThreads, rounds: *rounds})
	printLoad(os.Stdout, rs)
	return err
}

// benchServeModel loads the checkpoint, or makes a random ViT-S/16.
func benchServeModel(weights, config string, threads, maxTokens int) (anyres.Model, string, error) {
	if weights != "" {
		cfg, err := readConfig(weights, config)
		if err != nil {
			return nil, "", err
		}
		m, err := anyres.Load(weights, anyres.Options{Config: cfg, Threads: threads, MaxTokens: maxTokens})
		return m, weights, err
	}
	cfg := vit.ViTB16()
	cfg.EmbedDim, cfg.NumHeads, cfg.MLPHidden = 384, 6, 1536
	m, err := bench.RandomViT(cfg, anyres.Options{Threads: threads, MaxTokens: maxTokens})
	return m, "ViT-S/16 (random weights)", err
}

// benchServe measures the closed-loop modes in interleaved slices (each
// mode o.duration/o.rounds at a time, o.rounds times), so that a change in
// the machine's load touches every mode alike, then the overload.
func benchServe(m anyres.Model, o serveBench) ([]*loadResult, error) {
	imgs := make([]nn.Image, len(o.sizes))
	bodies := make([][]byte, len(o.sizes))
	for i, s := range o.sizes {
		imgs[i] = benchImage(uint64(i), m.Info().Channels, s[0], s[1])
		var b bytes.Buffer
		if err := tensorout.WriteNPY(&b, []int{1, imgs[i].C, imgs[i].H, imgs[i].W}, imgs[i].Pix); err != nil {
			return nil, err
		}
		bodies[i] = b.Bytes()
	}
	direct := &loadResult{mode: "direct Forward"}
	directBatched := &loadResult{mode: "direct batch.Forward"}
	// The direct batcher runs as the batched server does (passes at once,
	// threads per pass), so that the two differ by HTTP alone.
	bm := m
	if o.passThreads > 0 {
		var err error
		if bm, err = anyres.WithThreads(m, o.passThreads); err != nil {
			return nil, err
		}
	}
	b, err := batch.New(bm, batch.Options{MaxTokens: o.batchTokens, Wait: o.batchWait, Queue: 4 * o.clients, Passes: o.passes, Observe: func(p batch.Pass) {
		directBatched.passes.Add(1)
		directBatched.passImages.Add(int64(p.Images))
	}})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	unbatched := &loadResult{mode: "HTTP unbatched"}
	batched := &loadResult{mode: "HTTP batched"}
	queue := 4 * o.clients
	uURL, uStop, err := startBenchServer(m, o, true, queue, unbatched)
	if err != nil {
		return nil, err
	}
	bURL, bStop, err := startBenchServer(m, o, false, queue, batched)
	if err != nil {
		uStop()
		return nil, err
	}
	slice := serveBench(o)
	slice.duration, slice.requests = o.duration/time.Duration(o.rounds), max(1, o.requests/o.rounds)
	for range o.rounds {
		measure(direct, func(r *loadResult) {
			closedLoop(r, slice, func(client, i int) (int, error) {
				res := nn.Output{HeadOnly: true} // the pooled feature, as the HTTP clients ask
				return 200, m.Forward(imgs[(client+i)%len(imgs)], &res)
			})
		})
		measure(directBatched, func(r *loadResult) {
			closedLoop(r, slice, func(client, i int) (int, error) {
				res := nn.Output{HeadOnly: true}
				return 200, b.Forward(context.Background(), imgs[(client+i)%len(imgs)], &res)
			})
		})
		for _, c := range []struct {
			r   *loadResult
			url string
		}{{unbatched, uURL}, {batched, bURL}} {
			measure(c.r, func(r *loadResult) {
				closedLoop(r, slice, func(client, i int) (int, error) { return post(c.url, bodies[(client+i)%len(bodies)]) })
			})
		}
	}
	out := []*loadResult{direct, directBatched, unbatched, batched}
	for _, r := range out {
		r.finish()
	}
	if err := errors.Join(uStop(), bStop()); err != nil {
		return out, err
	}
	if o.overload > 0 {
		over := &loadResult{mode: fmt.Sprintf("HTTP batched, %gx overload", o.overload), rate: o.overload * batched.imagesPerSec}
		url, stop, err := startBenchServer(m, o, false, o.clients, over)
		if err != nil {
			return out, err
		}
		measure(over, func(r *loadResult) {
			openLoop(r, o, r.rate, func(i int) (int, error) { return post(url, bodies[i%len(bodies)]) })
		})
		over.finish()
		out = append(out, over)
		if err := stop(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// startBenchServer starts a server on a loopback port whose passes count
// into r; stop shuts it down.
func startBenchServer(m anyres.Model, o serveBench, unbatched bool, queue int, r *loadResult) (url string, stop func() error, err error) {
	passes := 1
	if !unbatched {
		passes = o.passes
		if o.passThreads > 0 {
			if m, err = anyres.WithThreads(m, o.passThreads); err != nil {
				return "", nil, err
			}
		}
	}
	s, err := serve.New(serve.Config{Model: m, Norm: imageprep.Identity, Unbatched: unbatched,
		Batch: batch.Options{MaxTokens: o.batchTokens, Wait: o.batchWait, Queue: queue, Passes: passes, Observe: func(p batch.Pass) {
			r.passes.Add(1)
			r.passImages.Add(int64(p.Images))
		}}})
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	return "http://" + l.Addr().String() + "/image?output=pooled", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			return err
		}
		return <-done
	}, nil
}

// measure runs one slice of a mode, adding its time and memory peaks.
func measure(r *loadResult, run func(r *loadResult)) {
	runtime.GC()
	debug.FreeOSMemory()
	bench.ResetPeakRSS()
	stop := bench.HeapPeak()
	cpu0, _ := bench.ProcessCPU()
	start := time.Now()
	run(r)
	r.seconds += time.Since(start).Seconds()
	cpu1, _ := bench.ProcessCPU()
	r.cpu += cpu1 - cpu0
	r.heapPeak, r.rssPeak = max(r.heapPeak, stop()), max(r.rssPeak, bench.PeakRSS())
}

// cpuPerImage is the process's CPU time per answered image, "-" unknown.
func (r *loadResult) cpuPerImage() string {
	if r.cpu <= 0 || r.ok == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.cpu.Seconds()*1000/float64(r.ok))
}

// finish computes the rates and percentiles.
func (r *loadResult) finish() {
	r.imagesPerSec = float64(r.ok) / r.seconds
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	sort.Slice(r.rejectTimes, func(i, j int) bool { return r.rejectTimes[i] < r.rejectTimes[j] })
	r.p50, r.p95, r.p99 = pct(r.latencies, 50), pct(r.latencies, 95), pct(r.latencies, 99)
	r.rejp99 = pct(r.rejectTimes, 99)
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

// record adds one request's outcome.
func (r *loadResult) record(mu *sync.Mutex, d time.Duration, code int, err error) {
	mu.Lock()
	defer mu.Unlock()
	r.sent++
	switch {
	case err == nil && code == 200:
		r.ok++
		r.latencies = append(r.latencies, d)
	case err == nil && code == 503:
		r.rejected++
		r.rejectTimes = append(r.rejectTimes, d)
	default:
		r.failed++
		if r.firstErr == "" {
			r.firstErr = fmt.Sprintf("status %d, %v", code, err)
		}
	}
}

// closedLoop runs o.clients clients, each sending its next request when
// its last is answered, for o.duration or o.requests requests.
func closedLoop(r *loadResult, o serveBench, do func(client, i int) (int, error)) {
	var mu sync.Mutex
	var started atomic.Int64
	deadline := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline) && started.Add(1) <= int64(o.requests); i++ {
				t := time.Now()
				code, err := do(c, i)
				r.record(&mu, time.Since(t), code, err)
			}
		})
	}
	wg.Wait()
}

// openLoop sends requests at a fixed rate whatever the answers, for
// o.duration or o.requests requests.
func openLoop(r *loadResult, o serveBench, rate float64, do func(i int) (int, error)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; i < o.requests && time.Since(start) < o.duration; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			t := time.Now()
			code, err := do(i)
			r.record(&mu, time.Since(t), code, err)
		})
	}
	wg.Wait()
}

var benchClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}

func post(url string, body []byte) (int, error) {
	resp, err := benchClient.Post(url, "application/x-npy", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

func benchImage(seed uint64, c, h, w int) nn.Image {
	r := rand.New(rand.NewPCG(seed, 3))
	pix := make([]float32, c*h*w)
	for i := range pix {
		pix[i] = 4*r.Float32() - 2
	}
	return nn.Image{C: c, H: h, W: w, Pix: pix}
}

func printLoad(w io.Writer, rs []*loadResult) {
	fmt.Fprintf(w, "%-28s %9s %6s %6s %6s %9s %10s %8s %8s %8s %10s %8s %8s %8s\n",
		"mode", "requests", "ok", "503", "failed", "images/s", "CPU ms/img", "p50 ms", "p95 ms", "p99 ms", "503 p99 ms", "img/pass", "heap MB", "rss MB")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e6) }
	for _, r := range rs {
		perPass := "-"
		if n := r.passes.Load(); n > 0 {
			perPass = fmt.Sprintf("%.1f", float64(r.passImages.Load())/float64(n))
		}
		fmt.Fprintf(w, "%-28s %9d %6d %6d %6d %9.1f %10s %8s %8s %8s %10s %8s %8.0f %8.0f\n", r.mode, r.sent, r.ok, r.rejected, r.failed,
			r.imagesPerSec, r.cpuPerImage(), ms(r.p50), ms(r.p95), ms(r.p99), ms(r.rejp99), perPass, float64(r.heapPeak)/(1<<20), float64(r.rssPeak)/(1<<20))
		if r.rate > 0 {
			fmt.Fprintf(w, "%28s (open loop: %.1f requests/s offered)\n", "", r.rate)
		}
		if r.firstErr != "" {
			fmt.Fprintf(w, "%28s first failure: %s\n", "", r.firstErr)
		}
	}
	find := func(mode string) *loadResult {
		for _, r := range rs {
			if r.mode == mode {
				return r
			}
		}
		return nil
	}
	if b, u, d, db := find("HTTP batched"), find("HTTP unbatched"), find("direct Forward"), find("direct batch.Forward"); b != nil && u != nil && d != nil && db != nil && u.imagesPerSec > 0 && d.imagesPerSec > 0 {
		fmt.Fprintf(w, "throughput: HTTP batched / HTTP unbatched %.2fx, direct batch.Forward / direct Forward %.2fx, HTTP batched / direct Forward %.2fx\n",
			b.imagesPerSec/u.imagesPerSec, db.imagesPerSec/d.imagesPerSec, b.imagesPerSec/d.imagesPerSec)
		if b.cpu > 0 && u.cpu > 0 && d.cpu > 0 && db.cpu > 0 && b.ok > 0 && db.ok > 0 {
			// What a busy machine disturbs least: the CPU each image cost.
			per := func(r *loadResult) float64 { return r.cpu.Seconds() / float64(r.ok) }
			fmt.Fprintf(w, "CPU per image: HTTP unbatched / HTTP batched %.2fx, direct Forward / direct batch.Forward %.2fx\n",
				per(u)/per(b), per(d)/per(db))
		}
	}
}
