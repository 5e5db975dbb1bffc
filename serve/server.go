// Package serve is anyres's HTTP server: one model behind the KServe / Open
// Inference Protocol v2 REST API, a plain endpoint that takes a photo (or an
// .npy tensor) and answers with features, pooled feature, logits or the
// top classes, and Prometheus metrics. Concurrent requests go through a
// batch.Batcher, so they run as packed batches.
//
//	s, err := serve.New(serve.Config{Model: m}) // the model's normalisation
//	go s.Serve(listener)
//	...
//	s.Shutdown(ctx) // finishes every request in flight, refuses new ones
//
// Every input from the network is bounded (body bytes, pixels, tokens,
// read and write times) and a bad one is a 4xx answer that says what was
// wrong; the server keeps serving.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/serve/batch"
)

// Defaults for the zero Config.
const (
	DefaultMaxBodyBytes      = 32 << 20 // a 32 MiB request body
	DefaultMaxPixels         = 40 << 20 // a 40-megapixel photo
	DefaultMaxTokens         = 4096     // tokens of one image
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 120 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultTop               = 5
)

// Config describes a server. Model is required; the zero value of every
// other field is a sensible default.
type Config struct {
	Model nn.Net
	// Name is the model's name in the v2 URLs; "" means the architecture
	// name (or the family's, when the checkpoint names none).
	Name string
	// Norm replaces the model's normalisation of photos; the zero Norm
	// means the model's own (Model.Info().Input.Norm, which the front
	// door fills). A model that names none is refused: give
	// imageprep.Identity for none.
	Norm imageprep.Norm
	// Labels are the class names for top-k answers (nil: none).
	Labels []string
	// Tokens, when positive, is the token budget photos are resized to
	// unless a request asks otherwise; 0 runs photos at their own size.
	Tokens int
	// Batch tunes the batcher; Unbatched runs every request alone and
	// concurrently instead (what a service without a batcher does), with
	// Batch.Queue bounding the requests in flight and Batch.Observe called
	// per request; the other Batch fields do not apply to it.
	Batch     batch.Options
	Unbatched bool
	// Limits on every request: the body, the decoded photo's pixels, one
	// image's tokens.
	MaxBodyBytes int64
	MaxPixels    int64
	MaxTokens    int
	// Timeouts of the HTTP server (see net/http.Server).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// Server serves one model.
type Server struct {
	cfg     Config
	info    nn.Info
	name    string
	run     runner
	http    *http.Server
	metrics *metrics
	limits  imageprep.Limits
	closing atomic.Bool
	// probe is the output of a one-patch image, run at start: which
	// outputs the model has and their widths (Info does not say).
	probe nn.Output
}

// runner runs one image: the batcher, or the model alone.
type runner interface {
	Forward(ctx context.Context, img nn.Image, out *nn.Output) error
	QueueLen() int
	Full() bool
	Close() error
}

// New readies a server for cfg.Model; Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil {
		return nil, errors.New("serve: no model")
	}
	if cfg.Norm == (imageprep.Norm{}) {
		cfg.Norm = cfg.Model.Info().Input.Norm
	}
	if err := cfg.Norm.Validate(); err != nil {
		return nil, fmt.Errorf("serve: Norm: %w", err)
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxPixels < 0 || cfg.MaxTokens < 0 || cfg.Tokens < 0 {
		return nil, fmt.Errorf("serve: MaxBodyBytes %d, MaxPixels %d, MaxTokens %d and Tokens %d must not be negative",
			cfg.MaxBodyBytes, cfg.MaxPixels, cfg.MaxTokens, cfg.Tokens)
	}
	if cfg.ReadHeaderTimeout < 0 || cfg.ReadTimeout < 0 || cfg.WriteTimeout < 0 || cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("serve: timeouts must not be negative (zero means the default)")
	}
	if strings.ContainsAny(cfg.Name, "/?#%") {
		return nil, fmt.Errorf("serve: model name %q: it goes into URL paths, so no /, ?, # or %%", cfg.Name)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&cfg.ReadTimeout, DefaultReadTimeout)
	def(&cfg.WriteTimeout, DefaultWriteTimeout)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPixels == 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	s := &Server{cfg: cfg, info: cfg.Model.Info(), name: cfg.Name, metrics: newMetrics()}
	if s.name == "" {
		s.name = s.info.Architecture
	}
	if s.name == "" {
		s.name = s.info.Family
	}
	p := s.info.Patch
	if err := cfg.Model.Forward(nn.Image{C: s.info.Channels, H: p[0], W: p[1], Pix: make([]float32, s.info.Channels*p[0]*p[1])}, &s.probe); err != nil {
		return nil, fmt.Errorf("serve: the model does not run: %w", err)
	}
	s.limits = imageprep.Limits{FileBytes: cfg.MaxBodyBytes, Pixels: cfg.MaxPixels}
	bo := cfg.Batch
	bo.Observe = func(p batch.Pass) {
		s.metrics.observePass(p)
		if cfg.Batch.Observe != nil {
			cfg.Batch.Observe(p)
		}
	}
	var err error
	if cfg.Unbatched {
		s.run, err = newAlone(cfg.Model, bo)
	} else {
		s.run, err = batch.New(cfg.Model, bo)
	}
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// Name is the model's name in the v2 URLs.
func (s *Server) Name() string { return s.name }

// Handler is the server's routes, for a caller that runs its own
// http.Server (it then owns the timeouts).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", s.live)
	mux.HandleFunc("GET /v2/health/ready", s.ready)
	mux.HandleFunc("GET /v2", s.serverMetadata)
	for _, v := range []string{"", "/versions/{version}"} {
		mux.HandleFunc("GET /v2/models/{name}"+v, s.modelMetadata)
		mux.HandleFunc("GET /v2/models/{name}"+v+"/ready", s.modelReady)
		mux.HandleFunc("POST /v2/models/{name}"+v+"/infer", s.infer)
	}
	mux.HandleFunc("POST /image", s.image)
	mux.HandleFunc("GET /metrics", s.metrics.serve(s.run.QueueLen))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s (have /v2/..., POST /image, GET /metrics)", r.Method, r.URL.Path))
	})
	return s.metrics.count(mux)
}

// refuseWhenFull answers 503 without reading the body when the queue is
// full: under overload, refusing must cost less than serving.
func (s *Server) refuseWhenFull(w http.ResponseWriter) bool {
	if !s.run.Full() {
		return false
	}
	w.Header().Set("Connection", "close")
	fail(w, fmt.Errorf("%w: try again later", batch.ErrOverloaded))
	return true
}

// Serve accepts connections on l until Shutdown; it returns nil after a
// shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and requests, waits (until ctx
// ends) for every request in flight to be answered, then stops the
// batcher. Readiness turns false at once, so a load balancer stops
// sending.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	err := s.http.Shutdown(ctx)
	if cerr := s.run.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.closing.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

// alone runs each request by itself on the model, concurrently, with at
// most Queue requests in flight: the server without batching.
type alone struct {
	m     nn.Net
	slots chan struct{}
	obs   func(batch.Pass)
	info  nn.Info
}

func newAlone(m nn.Net, o batch.Options) (*alone, error) {
	if o.Queue < 0 {
		return nil, fmt.Errorf("queue %d must not be negative", o.Queue)
	}
	if o.Queue == 0 {
		o.Queue = batch.DefaultQueue
	}
	return &alone{m: m, slots: make(chan struct{}, o.Queue), obs: o.Observe, info: m.Info()}, nil
}

func (a *alone) Forward(ctx context.Context, img nn.Image, out *nn.Output) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case a.slots <- struct{}{}:
	default:
		return fmt.Errorf("%w (%d requests running)", batch.ErrOverloaded, cap(a.slots))
	}
	defer func() { <-a.slots }()
	start := time.Now()
	err := a.m.Forward(img, out)
	if a.obs != nil {
		a.obs(batch.Pass{Images: 1, Tokens: nn.GridFor(img.H, img.W, a.info.Patch, nn.EdgePad).N() + a.info.Prefix, Duration: time.Since(start), Err: err})
	}
	return err
}

// QueueLen is the number of requests running (none waits).
func (a *alone) QueueLen() int { return len(a.slots) }

func (a *alone) Full() bool { return len(a.slots) == cap(a.slots) }

func (a *alone) Close() error { return nil }
