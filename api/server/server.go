// Package server is Beacon's API chassis: a gRPC server and its REST/JSON gateway, with health, metrics and one error model.
//
// # Routes on the HTTP port
//
//   - /v1/… — the grpc-gateway REST/JSON API (snake_case field names);
//   - gRPC itself over h2c, for clients that only reach the HTTP port;
//   - /healthz (liveness), /readyz (readiness: every backend check passes);
//   - /metrics (Prometheus), /openapi.json (the generated OpenAPI document);
//   - anything other stages mount with Handle (HLS, web pages).
//
// gRPC is also served on its own port, with the health service and server
// reflection so that grpcurl works. Errors on every route share one JSON
// body (see ErrorBody); internal details never reach callers.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/encoding/protojson"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/api/openapi"
)

// Check reports whether one backend is reachable, for /readyz.
type Check func(ctx context.Context) error

// GatewayRegistrar registers a service's REST handlers on the gateway mux,
// proxying to the gRPC server through conn (the generated
// Register…Handler functions fit it).
type GatewayRegistrar func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error

// Config configures the API chassis.
type Config struct {
	// HTTPAddr is the HTTP listen address. It defaults to ":8080".
	HTTPAddr string
	// GRPCAddr is the gRPC listen address. It defaults to ":9090".
	GRPCAddr string
	// RequestTimeout bounds every API call. It defaults to 30s.
	RequestTimeout time.Duration
	// MaxRequestBytes bounds request bodies (HTTP and gRPC messages). It defaults to 1 MiB.
	MaxRequestBytes int64
	// ShutdownTimeout bounds the graceful shutdown. It defaults to 20s.
	ShutdownTimeout time.Duration
	// Version is reported by GET /v1/version. It defaults to "dev".
	Version string
	// Targets are the stages this process runs, reported by GET /v1/version.
	Targets []string
	// Bus is the bus scheme reported by GET /v1/version (mem or kafka).
	Bus string
	// Registry receives the chassis's metrics and is served on /metrics.
	// It defaults to a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// QuietPaths are not access-logged (for example /healthz under probes).
	QuietPaths map[string]bool
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Interceptors run after the chassis's own (request id, deadline,
	// recovery, metrics, access log), in order: authentication, rate limits.
	Interceptors []grpc.UnaryServerInterceptor
	// StreamInterceptors run after the chassis's stream recovery, in order.
	StreamInterceptors []grpc.StreamServerInterceptor
}

// Server is the API chassis. Register services and handlers before Run.
type Server struct {
	cfg         Config
	log         *slog.Logger
	grpc        *grpc.Server
	health      *health.Server
	mux         *http.ServeMux
	httpMetrics *httpMetrics
	grpcMetrics *grpcMetrics

	mu       sync.Mutex
	gateways []GatewayRegistrar
	checks   map[string]Check
	started  bool

	readyMu sync.Mutex
	addrs   struct{ http, grpc net.Addr }
	ready   chan struct{}
}

// New returns a chassis with the version, health and reflection services.
func New(cfg Config) (*Server, error) {
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = ":8080"
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = ":9090"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 1 << 20
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), checks: map[string]Check{}, ready: make(chan struct{})}
	var err error
	if s.httpMetrics, err = newHTTPMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	if s.grpcMetrics, err = newGRPCMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{s.unaryInterceptor}, cfg.Interceptors...)...),
		grpc.ChainStreamInterceptor(append([]grpc.StreamServerInterceptor{s.streamInterceptor}, cfg.StreamInterceptors...)...),
		grpc.MaxRecvMsgSize(int(cfg.MaxRequestBytes)),
	)
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	apiv1.RegisterVersionServiceServer(s.grpc, &versionService{cfg: cfg})
	s.gateways = append(s.gateways, apiv1.RegisterVersionServiceHandler)

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry}))
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, openapi.JSON)
	})
	return s, nil
}

// GRPC returns the gRPC server, for registering services before Run.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// RegisterGateway adds a service's REST routes to the gateway. Call before Run.
func (s *Server) RegisterGateway(r GatewayRegistrar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gateways = append(s.gateways, r)
}

// Handle mounts h on the HTTP port at pattern (http.ServeMux syntax).
// Call before Run.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// AddCheck adds a readiness check, run by /readyz and the gRPC health service.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Addrs returns the bound HTTP and gRPC addresses once Run is serving.
func (s *Server) Addrs(ctx context.Context) (httpAddr, grpcAddr net.Addr, err error) {
	select {
	case <-s.ready:
		s.readyMu.Lock()
		defer s.readyMu.Unlock()
		return s.addrs.http, s.addrs.grpc, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

type readyReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) runChecks(ctx context.Context) readyReport {
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rep := readyReport{Status: "ok", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := "ok"
			if err := c(ctx); err != nil {
				res = "unavailable: " + err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Checks[name] = res
			if res != "ok" {
				rep.Status = "unavailable"
			}
		}()
	}
	wg.Wait()
	return rep
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rep := s.runChecks(r.Context())
	b, _ := json.Marshal(rep)
	code := http.StatusOK
	if rep.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, b)
}

// Run serves HTTP and gRPC until ctx ends, then shuts down gracefully: it
// stops accepting, lets calls in flight finish within ShutdownTimeout, and
// returns once every server goroutine has exited.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("server: Run called twice")
	}
	s.started = true
	gateways := append([]GatewayRegistrar(nil), s.gateways...)
	s.mu.Unlock()

	var lc net.ListenConfig
	gl, err := lc.Listen(ctx, "tcp", s.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("server: grpc listen %s: %w", s.cfg.GRPCAddr, err)
	}
	hl, err := lc.Listen(ctx, "tcp", s.cfg.HTTPAddr)
	if err != nil {
		_ = gl.Close()
		return fmt.Errorf("server: http listen %s: %w", s.cfg.HTTPAddr, err)
	}

	// The gateway is a gRPC client of our own gRPC port.
	conn, err := grpc.NewClient(loopbackTarget(gl.Addr()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		_ = gl.Close()
		_ = hl.Close()
		return fmt.Errorf("server: gateway client: %w", err)
	}
	defer conn.Close()
	gw := runtime.NewServeMux(
		runtime.WithErrorHandler(gatewayError),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithIncomingHeaderMatcher(func(k string) (string, bool) {
			switch strings.ToLower(k) {
			case "authorization":
				return "authorization", true
			case "x-request-id":
				// Forwarded sanitized by WithMetadata below, never raw.
				return "", false
			}
			return runtime.DefaultHeaderMatcher(k)
		}),
		runtime.WithOutgoingHeaderMatcher(func(k string) (string, bool) {
			// gRPC response metadata stays internal (the request id is already
			// in X-Request-Id) except the headers REST callers need.
			switch k {
			case "set-cookie":
				return "Set-Cookie", true
			case "retry-after":
				return "Retry-After", true
			}
			return "", false
		}),
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			// The HTTP middleware's request id follows the call into gRPC.
			if id := RequestID(ctx); id != "" {
				return metadata.Pairs("x-request-id", id)
			}
			return nil
		}),
	)
	for _, g := range gateways {
		if err := g(ctx, gw, conn); err != nil {
			_ = gl.Close()
			_ = hl.Close()
			return fmt.Errorf("server: register gateway: %w", err)
		}
	}
	s.mux.Handle("/v1/", checkQueryUTF8(gw))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, codes.NotFound, "no such route: "+r.URL.Path)
	})

	root := s.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			s.grpc.ServeHTTP(w, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	}))
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		Protocols:         protocols,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}

	s.readyMu.Lock()
	s.addrs.http, s.addrs.grpc = hl.Addr(), gl.Addr()
	s.readyMu.Unlock()
	close(s.ready)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.log.Info("api serving", "http_addr", hl.Addr().String(), "grpc_addr", gl.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.grpc.Serve(gl); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("server: grpc: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := hs.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("server: http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		s.health.Shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		herr := hs.Shutdown(sctx)
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			s.grpc.Stop()
			<-done
		}
		if herr != nil {
			return fmt.Errorf("server: http shutdown: %w", herr)
		}
		return nil
	})
	return g.Wait()
}

// loopbackTarget turns a listener address such as [::]:9090 into a dialable
// loopback target.
func loopbackTarget(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

type versionService struct {
	apiv1.UnimplementedVersionServiceServer
	cfg Config
}

func (v *versionService) GetVersion(context.Context, *apiv1.GetVersionRequest) (*apiv1.GetVersionResponse, error) {
	targets := append([]string(nil), v.cfg.Targets...)
	sort.Strings(targets)
	return &apiv1.GetVersionResponse{Version: v.cfg.Version, GoVersion: goVersion(), Targets: targets, Bus: v.cfg.Bus}, nil
}

// checkQueryUTF8 refuses paths and query parameters that are not valid UTF-8
// before the gateway turns them into proto strings (which cannot hold them).
func checkQueryUTF8(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !utf8.ValidString(r.URL.Path) {
			WriteError(w, r, codes.InvalidArgument, "the URL path must be valid UTF-8")
			return
		}
		for k, vs := range r.URL.Query() {
			if !utf8.ValidString(k) {
				WriteError(w, r, codes.InvalidArgument, "query parameter names must be valid UTF-8")
				return
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					WriteError(w, r, codes.InvalidArgument, fmt.Sprintf("query parameter %q must be valid UTF-8", k))
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
