package serve

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anyres/anyres/serve/batch"
)

// metrics are the server's Prometheus metrics, written in the text
// exposition format (version 0.0.4) by hand: a few counters and
// histograms do not need a client library.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64  // endpoint, code → count
	latency  map[string]*histogram // endpoint → request seconds
	inFlight int64                 // requests being answered
	images   *histogram            // images per pass
	tokens   *histogram            // tokens per pass
	pass     *histogram            // seconds per pass
	failed   uint64                // passes that returned an error
}

// Buckets: request and pass seconds from 1 ms to a minute; images and
// tokens per pass in powers of two.
var (
	secondBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	imageBuckets  = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
	tokenBuckets  = []float64{64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768}
)

func newMetrics() *metrics {
	return &metrics{
		requests: map[[2]string]uint64{},
		latency:  map[string]*histogram{},
		images:   newHistogram(imageBuckets),
		tokens:   newHistogram(tokenBuckets),
		pass:     newHistogram(secondBuckets),
	}
}

// observePass records one forward pass (batch.Options.Observe).
func (m *metrics) observePass(p batch.Pass) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.images.observe(float64(p.Images))
	m.tokens.observe(float64(p.Tokens))
	m.pass.observe(p.Duration.Seconds())
	if p.Err != nil {
		m.failed++
	}
}

// count wraps h to count requests by route pattern and status code and
// time them.
func (m *metrics) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.mu.Lock()
		m.inFlight++
		m.mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			// The mux sets r.Pattern: a bounded set of label values.
			endpoint := r.Pattern
			if endpoint == "" || endpoint == "/" {
				endpoint = "other"
			}
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.inFlight--
			m.requests[[2]string{endpoint, strconv.Itoa(code)}]++
			l := m.latency[endpoint]
			if l == nil {
				l = newHistogram(secondBuckets)
				m.latency[endpoint] = l
			}
			l.observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(rec, r)
	})
}

// serve writes the metrics; queueLen is read at scrape time.
func (m *metrics) serve(queueLen func() int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		var b strings.Builder
		m.write(&b, queueLen())
		io.WriteString(w, b.String())
	}
}

func (m *metrics) write(w io.Writer, queueLen int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP anyres_requests_total HTTP requests answered, by endpoint (route pattern) and status code.")
	fmt.Fprintln(w, "# TYPE anyres_requests_total counter")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "anyres_requests_total{endpoint=%s,code=%s} %d\n", quote(k[0]), quote(k[1]), m.requests[k])
	}
	fmt.Fprintln(w, "# HELP anyres_request_duration_seconds Time to answer a request, by endpoint.")
	fmt.Fprintln(w, "# TYPE anyres_request_duration_seconds histogram")
	eps := make([]string, 0, len(m.latency))
	for e := range m.latency {
		eps = append(eps, e)
	}
	sort.Strings(eps)
	for _, e := range eps {
		m.latency[e].write(w, "anyres_request_duration_seconds", "endpoint="+quote(e))
	}
	fmt.Fprintln(w, "# HELP anyres_requests_in_flight Requests being answered.")
	fmt.Fprintln(w, "# TYPE anyres_requests_in_flight gauge")
	fmt.Fprintf(w, "anyres_requests_in_flight %d\n", m.inFlight)
	fmt.Fprintln(w, "# HELP anyres_queue_length Images waiting for a forward pass.")
	fmt.Fprintln(w, "# TYPE anyres_queue_length gauge")
	fmt.Fprintf(w, "anyres_queue_length %d\n", queueLen)
	fmt.Fprintln(w, "# HELP anyres_batch_images Images packed into one forward pass.")
	fmt.Fprintln(w, "# TYPE anyres_batch_images histogram")
	m.images.write(w, "anyres_batch_images", "")
	fmt.Fprintln(w, "# HELP anyres_batch_tokens Tokens packed into one forward pass.")
	fmt.Fprintln(w, "# TYPE anyres_batch_tokens histogram")
	m.tokens.write(w, "anyres_batch_tokens", "")
	fmt.Fprintln(w, "# HELP anyres_batch_duration_seconds Time of one forward pass.")
	fmt.Fprintln(w, "# TYPE anyres_batch_duration_seconds histogram")
	m.pass.write(w, "anyres_batch_duration_seconds", "")
	fmt.Fprintln(w, "# HELP anyres_batch_errors_total Forward passes that returned an error.")
	fmt.Fprintln(w, "# TYPE anyres_batch_errors_total counter")
	fmt.Fprintf(w, "anyres_batch_errors_total %d\n", m.failed)
}

// quote writes a label value: backslash, double quote and newline escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// histogram counts observations into cumulative buckets; its metrics
// hold the lock.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)]++
	h.sum += v
	h.n++
}

// write writes the buckets, sum and count; labels ("" for none) go before le.
func (h *histogram) write(w io.Writer, name, labels string) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%s%sle=%q} %d\n", name, labels, sep, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, h.n)
	braces := ""
	if labels != "" {
		braces = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n", name, braces, strconv.FormatFloat(h.sum, 'g', -1, 64))
	fmt.Fprintf(w, "%s_count%s %d\n", name, braces, h.n)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
