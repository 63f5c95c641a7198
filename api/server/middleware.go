package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// HeaderRequestID carries the request id on HTTP requests and responses, and
// (lower-cased) in gRPC metadata.
const HeaderRequestID = "X-Request-Id"

type requestIDKey struct{}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDFrom keeps a caller's request id if it is short and plain, and
// makes a new one otherwise, so that ids cannot inject into logs.
func requestIDFrom(given string) string {
	if validRequestID.MatchString(given) {
		return given
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_http_requests_total", Help: "HTTP requests by route prefix, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "beacon_http_request_duration_seconds", Help: "HTTP request latency by route prefix.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// routeLabel keeps metric cardinality bounded: the first path segment only.
func routeLabel(path string) string {
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			return path[:i]
		}
	}
	if len(path) > 32 {
		return "other"
	}
	return path
}

// middleware wraps h with request ids, panic recovery, body limits, metrics
// and access logs. grpc requests (served over h2c on the HTTP port) skip the
// body limit, which gRPC enforces itself.
func (s *Server) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestIDFrom(r.Header.Get(HeaderRequestID))
		r = r.WithContext(WithRequestID(r.Context(), id))
		w.Header().Set(HeaderRequestID, id)
		rec := &statusRecorder{ResponseWriter: w}
		isGRPC := r.ProtoMajor == 2 && len(r.Header.Get("Content-Type")) >= 16 && r.Header.Get("Content-Type")[:16] == "application/grpc"
		if !isGRPC && r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.MaxRequestBytes)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteError(rec, r, codes.Internal, "")
				}
			}
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			route := routeLabel(r.URL.Path)
			s.httpMetrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(code)).Inc()
			s.httpMetrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			if !s.cfg.QuietPaths[r.URL.Path] {
				s.log.Info("http request", "request_id", id, "method", r.Method, "path", r.URL.Path,
					"status", code, "bytes", rec.bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000,
					"remote", r.RemoteAddr)
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

type grpcMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newGRPCMetrics(reg prometheus.Registerer) (*grpcMetrics, error) {
	m := &grpcMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_grpc_requests_total", Help: "gRPC calls by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "beacon_grpc_request_duration_seconds", Help: "gRPC call latency by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// unaryInterceptor gives every call a request id (from metadata or new), a
// deadline, panic recovery, metrics and an access log line.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	given := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-request-id"); len(v) > 0 {
			given = v[0]
		}
	}
	id := requestIDFrom(given)
	ctx = WithRequestID(ctx, id)
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", id))
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("grpc handler panic", "request_id", id, "method", info.FullMethod, "panic", p, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
		if st, ok := status.FromError(err); ok && (st.Code() == codes.Internal || st.Code() == codes.Unknown) && err != nil {
			// Never leak internal details to callers; keep them in the log.
			s.log.Error("grpc internal error", "request_id", id, "method", info.FullMethod, "error", err)
			err = status.Error(st.Code(), "internal error")
		}
		code := status.Code(err)
		s.grpcMetrics.requests.WithLabelValues(info.FullMethod, code.String()).Inc()
		s.grpcMetrics.duration.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
		s.log.Info("grpc request", "request_id", id, "method", info.FullMethod, "code", code.String(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	}()
	return handler(ctx, req)
}

// streamInterceptor recovers panics in streaming calls (reflection, health watch).
func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("grpc stream panic", "method", info.FullMethod, "panic", p)
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(srv, ss)
}

// writeJSON writes v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(v)
}

// discardLogger is used when Config.Logger is nil.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
