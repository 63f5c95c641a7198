package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/internal/testenv"
)

type running struct {
	s      *server.Server
	http   string
	grpc   string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg server.Config, setup func(*server.Server)) *running {
	t.Helper()
	cfg.HTTPAddr, cfg.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Version = "1.2.3"
	cfg.Targets = []string{"api", "ingest"}
	cfg.Bus = "mem"
	s, err := server.New(cfg)
	require.NoError(t, err)
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	h, g, err := s.Addrs(actx)
	require.NoError(t, err)
	r.http, r.grpc = "http://"+h.String(), g.String()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return r
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func errorBody(t *testing.T, b []byte) server.ErrorDetail {
	t.Helper()
	var e server.ErrorBody
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	return e.Error
}

func TestVersionOverREST(t *testing.T) {
	r := start(t, server.Config{}, nil)
	resp, b := get(t, r.http+"/v1/version", "X-Request-Id", "abc-123")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, "abc-123", resp.Header.Get("X-Request-Id"), "a plain caller request id is kept")
	require.Empty(t, resp.Header.Get("Grpc-Metadata-Content-Type"), "internal gRPC metadata must not leak")
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v))
	require.Equal(t, "1.2.3", v["version"])
	require.Equal(t, "mem", v["bus"])
	require.Equal(t, []any{"api", "ingest"}, v["targets"])
	require.Contains(t, v, "go_version", "snake_case proto field names")
}

func TestHostileRequestIDReplaced(t *testing.T) {
	r := start(t, server.Config{}, nil)
	for _, id := range []string{strings.Repeat("a", 65), "<script>", "a b", "x\ty"} {
		resp, _ := get(t, r.http+"/v1/version", "X-Request-Id", id)
		got := resp.Header.Get("X-Request-Id")
		require.NotEqual(t, id, got)
		require.Regexp(t, `^[0-9a-f]{24}$`, got)
	}
}

func TestErrorModel(t *testing.T) {
	r := start(t, server.Config{MaxRequestBytes: 2048}, func(s *server.Server) {
		s.Handle("GET /test/panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("secret internal detail")
		}))
		s.Handle("POST /test/echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					server.WriteTooLarge(w, r)
					return
				}
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	})
	for _, ca := range []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"unknown route", "/nope", 404, "NOT_FOUND"},
		{"unknown api route", "/v1/nope", 404, "NOT_FOUND"},
		{"panic", "/test/panic", 500, "INTERNAL"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			resp, b := get(t, r.http+ca.path)
			require.Equal(t, ca.status, resp.StatusCode)
			e := errorBody(t, b)
			require.Equal(t, ca.code, e.Code)
			require.Equal(t, ca.status, e.Status)
			require.Equal(t, resp.Header.Get("X-Request-Id"), e.RequestID)
			require.NotContains(t, string(b), "secret internal detail")
			require.NotContains(t, string(b), "goroutine")
		})
	}
	t.Run("body too large", func(t *testing.T) {
		resp, err := http.Post(r.http+"/test/echo", "application/octet-stream", bytes.NewReader(make([]byte, 4096)))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(b))
		require.Equal(t, "RESOURCE_EXHAUSTED", errorBody(t, b).Code)
		resp, err = http.Post(r.http+"/test/echo", "application/octet-stream", bytes.NewReader(make([]byte, 1024)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	})
	t.Run("malformed query parameter", func(t *testing.T) {
		resp, b := get(t, r.http+"/v1/version?unknown_field=%ff")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))
		require.Contains(t, errorBody(t, b).Message, "valid UTF-8")
		// Unknown but well-formed query parameters are ignored.
		resp, b = get(t, r.http+"/v1/version?unknown_field=1")
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	})
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	var fail = true
	r := start(t, server.Config{}, func(s *server.Server) {
		s.AddCheck("db", func(context.Context) error { return nil })
		s.AddCheck("search", func(context.Context) error {
			if fail {
				return errors.New("connection refused")
			}
			return nil
		})
	})
	resp, b := get(t, r.http+"/healthz")
	require.Equal(t, 200, resp.StatusCode)
	require.JSONEq(t, `{"status":"ok"}`, string(b))

	resp, b = get(t, r.http+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.JSONEq(t, `{"status":"unavailable","checks":{"db":"ok","search":"unavailable: connection refused"}}`, string(b))

	_, _ = get(t, r.http+"/v1/version")
	resp, b = get(t, r.http+"/metrics")
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(b), `beacon_http_requests_total{code="200",method="GET",route="/v1"}`)
	require.Contains(t, string(b), `beacon_grpc_requests_total{code="OK",method="/beacon.api.v1.VersionService/GetVersion"}`)

	resp, b = get(t, r.http+"/openapi.json")
	require.Equal(t, 200, resp.StatusCode)
	var doc struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Equal(t, "2.0", doc.Swagger)
	require.Contains(t, doc.Paths, "/v1/version")
}

func TestGRPCOnBothPorts(t *testing.T) {
	r := start(t, server.Config{}, nil)
	for _, target := range []string{r.grpc, strings.TrimPrefix(r.http, "http://")} {
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := apiv1.NewVersionServiceClient(conn).GetVersion(ctx, &apiv1.GetVersionRequest{})
		cancel()
		conn.Close()
		require.NoError(t, err, target)
		require.Equal(t, "1.2.3", v.GetVersion())
	}
}

// grpcurl, a client no one here wrote, lists the services through reflection,
// calls GetVersion and the health service.
func TestGrpcurl(t *testing.T) {
	grpcurl := testenv.Command(t, "grpcurl")
	r := start(t, server.Config{}, nil)
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, grpcurl, append([]string{"-plaintext"}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	list := run(r.grpc, "list")
	for _, svc := range []string{"beacon.api.v1.VersionService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		require.Contains(t, list, svc)
	}
	out := run(r.grpc, "beacon.api.v1.VersionService/GetVersion")
	require.Contains(t, out, `"version": "1.2.3"`)
	out = run(r.grpc, "grpc.health.v1.Health/Check")
	require.Contains(t, out, `"status": "SERVING"`)
	// Malformed request JSON is refused by the client-side parser, a bad
	// method by the server: both fail clearly.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bad, err := exec.CommandContext(ctx, grpcurl, "-plaintext", r.grpc, "beacon.api.v1.VersionService/NoSuchMethod").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(bad), "NoSuchMethod")
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	s, err := server.New(server.Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	s.Handle("GET /test/slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_, _ = w.Write([]byte("done"))
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h, _, err := s.Addrs(context.Background())
	require.NoError(t, err)
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + h.String() + "/test/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	// New connections are refused while the in-flight request drains.
	_, err = net.DialTimeout("tcp", h.String(), time.Second)
	require.Error(t, err)
	close(release)
	require.Equal(t, "done", <-got)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
