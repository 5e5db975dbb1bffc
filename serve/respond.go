package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/serve/batch"
)

// requestError is a bad request: its code and a message that says what was
// wrong and what was expected.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// statusOf is the HTTP status that answers err.
func statusOf(err error) int {
	var re *requestError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		return re.code
	case errors.Is(err, batch.ErrOverloaded), errors.Is(err, batch.ErrClosed), errors.Is(err, nn.ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, nn.ErrImage), errors.Is(err, nn.ErrTooManyTokens):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client left: nobody reads the answer.
		return http.StatusServiceUnavailable
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// fail answers err with its status and {"error": message}; overload says
// when to retry.
func fail(w http.ResponseWriter, err error) {
	code := statusOf(err)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, code, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// readBody reads the request body within the server's limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var b []byte
	var err error
	if r.ContentLength <= s.cfg.MaxBodyBytes { // a declared length past the limit is refused unread
		b, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	}
	var tooLarge *http.MaxBytesError
	switch {
	case r.ContentLength > s.cfg.MaxBodyBytes || errors.As(err, &tooLarge):
		return nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over the limit of %d bytes", s.cfg.MaxBodyBytes)}
	case err != nil:
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return nil, &requestError{http.StatusRequestTimeout, "reading the request body took too long"}
		}
		return nil, badRequest("reading the request body: %v", err)
	case len(b) == 0:
		return nil, badRequest("the request body is empty")
	}
	return b, nil
}

// floats is a float32 array written as JSON numbers in their shortest
// form (non-finite values, which JSON cannot hold, as null).
type floats []float32

func (f floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(f)*12)
	b = append(b, '[')
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return append(b, ']'), nil
}
