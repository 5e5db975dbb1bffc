package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/serve"
	"github.com/anyres/anyres/serve/batch"
)

func init() {
	commands["serve"] = command{"serve a checkpoint over HTTP: KServe v2 REST API, POST /image, /metrics", runServe}
}

const serveHelp = `usage: anyres serve -weights model.safetensors|hubfolder [flags]

Serves one checkpoint of any family over HTTP until SIGTERM or SIGINT, then
finishes every request in flight and exits. Concurrent requests are run as
packed batches (images of any sizes in one forward pass) under a token
budget (-batch-tokens) and a short wait (-batch-wait); past -queue waiting
images, requests get 503 at once.

Endpoints:
  GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME[/ready]
  POST /v2/models/NAME/infer   KServe / Open Inference Protocol v2: input
                               "pixel_values", FP32 N×C×H×W normalised pixels;
                               outputs features, pooled, logits
  POST /image                  a PNG or JPEG photo (sized and normalised as
                               'anyres run' does) or a normalised .npy tensor;
                               query: output=features,pooled,logits,top  k=5
                               tokens=N  size=HxW  format=json|npy
  GET  /metrics                Prometheus text format

flags:
`

type serveFlags struct {
	weights, config, name, addr string
	norm, labels, edge          string
	dtype, keepF32              string
	reduceRange                 bool
	tokens, maxTokens, threads  int
	maxBody, maxPixels          int64
	batchTokens, batchImages    int
	queue, passes               int
	batchWait                   time.Duration
	noBatch                     bool
	readTimeout, writeTimeout   time.Duration
	idleTimeout, shutdownWait   time.Duration
}

// parseServeFlags reads the command line; normSet says -norm was given.
func parseServeFlags(args []string) (f serveFlags, normSet bool, err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveHelp); fs.PrintDefaults() }
	fs.StringVar(&f.weights, "weights", "", "checkpoint: a .safetensors file or a hub folder (model.safetensors + config.json)")
	fs.StringVar(&f.config, "config", "", "timm's config.json (or anyres's resolved config) for a bare .safetensors file")
	fs.StringVar(&f.name, "name", "", "the model's name in /v2/models/NAME (default: the architecture, or the family)")
	fs.StringVar(&f.addr, "addr", ":8080", "listen on this `host:port`")
	fs.StringVar(&f.norm, "norm", "", "replaces the model's normalisation of photos (preprocessor_config.json's, the config's mean/std, else the architecture's default): imagenet, inception, clip or none")
	fs.StringVar(&f.labels, "labels", "", "class names, one per line (or a JSON list)")
	fs.StringVar(&f.edge, "edge", "", "edge policy: pad, crop or resize (default: the family's)")
	fs.StringVar(&f.dtype, "dtype", "f32", "number format of the Linear layers: f32, int8 or bf16")
	fs.StringVar(&f.keepF32, "keep-f32", "", "with -dtype int8 or bf16: comma-separated layer names kept in float32")
	fs.BoolVar(&f.reduceRange, "reduce-range", false, "with -dtype int8: 7-bit weights (±64, ONNX Runtime's reduce_range), about a fifth faster on CPUs without VNNI or AMX")
	fs.IntVar(&f.tokens, "tokens", 0, "resize photos to at most `N` patch tokens unless a request asks otherwise (0: their own size)")
	fs.IntVar(&f.maxTokens, "max-tokens", serve.DefaultMaxTokens, "refuse images with more tokens than this")
	fs.IntVar(&f.threads, "threads", 0, "worker threads of one forward pass (default: all CPUs)")
	fs.Int64Var(&f.maxBody, "max-body", serve.DefaultMaxBodyBytes, "refuse request bodies over this many `bytes`")
	fs.Int64Var(&f.maxPixels, "max-pixels", serve.DefaultMaxPixels, "refuse photos with more pixels than this (checked in the header, before decoding)")
	fs.IntVar(&f.batchTokens, "batch-tokens", batch.DefaultMaxTokens, "token budget of one packed forward pass")
	fs.IntVar(&f.batchImages, "batch-images", batch.DefaultMaxImages, "images of one packed forward pass at most")
	fs.DurationVar(&f.batchWait, "batch-wait", batch.DefaultWait, "how long the first queued image waits for others (negative: never)")
	fs.IntVar(&f.queue, "queue", batch.DefaultQueue, "images waiting for a pass at most; past it requests get 503")
	fs.IntVar(&f.passes, "batch-passes", 0, "packed passes run at once, each on -threads workers; 0: passes share the -threads workers (a lone request gets them all, a longer queue is split into passes of one worker each)")
	fs.BoolVar(&f.noBatch, "no-batch", false, "run every request alone and concurrently (at most -queue at once)")
	fs.DurationVar(&f.readTimeout, "read-timeout", serve.DefaultReadTimeout, "time to read a whole request")
	fs.DurationVar(&f.writeTimeout, "write-timeout", serve.DefaultWriteTimeout, "time to answer a request, from the end of its headers")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", serve.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&f.shutdownWait, "shutdown-timeout", time.Minute, "on SIGTERM, how long to wait for requests in flight")
	if err := fs.Parse(args); err != nil {
		return f, false, err
	}
	if fs.NArg() > 0 {
		return f, false, fmt.Errorf("unexpected argument %q (flags go before it? every value needs its flag)", fs.Arg(0))
	}
	if f.weights == "" {
		return f, false, errors.New("-weights is required")
	}
	fs.Visit(func(fl *flag.Flag) { normSet = normSet || fl.Name == "norm" })
	return f, normSet, nil
}

func runServe(args []string) error {
	f, normSet, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return serveUntil(ctx, f, normSet, func(s *serve.Server, addr net.Addr) {
		fmt.Fprintf(os.Stderr, "anyres serve: model %q on http://%s (POST /v2/models/%s/infer, POST /image, GET /metrics)\n", s.Name(), addr, s.Name())
	})
}

// serveUntil loads the model, serves it on f.addr until ctx ends, then
// shuts down gracefully; started is called once the server listens.
func serveUntil(ctx context.Context, f serveFlags, normSet bool, started func(*serve.Server, net.Addr)) error {
	s, m, err := newServer(f, normSet)
	if err != nil {
		return err
	}
	defer m.Close()
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	started(s, l.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownWait)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-done
}

// newServer loads the model as 'anyres run' does and readies a server.
func newServer(f serveFlags, normSet bool) (*serve.Server, anyres.Model, error) {
	if f.maxTokens <= 0 || f.batchTokens <= 0 {
		return nil, nil, errors.New("-max-tokens and -batch-tokens must be positive")
	}
	// The model's own cap must hold a whole packed pass.
	opts := anyres.Options{Threads: f.threads, MaxTokens: max(f.maxTokens, f.batchTokens), DType: f.dtype, ReduceRange: f.reduceRange}
	if f.keepF32 != "" {
		opts.KeepF32 = strings.Split(f.keepF32, ",")
	}
	var err error
	if opts.Edge, err = parseEdge(f.edge); err != nil {
		return nil, nil, err
	}
	if opts.Config, err = readConfig(f.weights, f.config); err != nil {
		return nil, nil, err
	}
	var labels []string
	if f.labels != "" {
		if labels, err = readLabels(f.labels); err != nil {
			return nil, nil, err
		}
	}
	m, err := anyres.Load(f.weights, opts)
	if err != nil {
		return nil, nil, err
	}
	info := m.Info()
	if labels == nil {
		labels = hubOf(opts.Config).Labels(info.NumClasses) // timm's or transformers' config
	}
	norm, err := modelNorm(info, f.norm, normSet)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s, err := serve.New(serve.Config{
		Model: m, Name: f.name, Norm: norm, Labels: labels, Tokens: f.tokens,
		Batch:        batch.Options{MaxTokens: f.batchTokens, MaxImages: f.batchImages, Wait: f.batchWait, Queue: f.queue, Passes: f.passes},
		Unbatched:    f.noBatch,
		MaxBodyBytes: f.maxBody, MaxPixels: f.maxPixels, MaxTokens: f.maxTokens,
		ReadTimeout: f.readTimeout, WriteTimeout: f.writeTimeout, IdleTimeout: f.idleTimeout,
	})
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return s, m, nil
}
