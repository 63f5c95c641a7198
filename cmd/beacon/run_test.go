package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/testenv"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBeacon runs the server in-process with args and environ until the test
// ends, when it checks the shutdown is clean; the server's output is logged if
// the test failed.
func startBeacon(t *testing.T, args, environ []string) (Addrs, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	addrs := make(chan Addrs, 1)
	done := make(chan error, 1)
	go func() { done <- runWith(ctx, args, environ, out, func(a Addrs) { addrs <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "beacon shutdown")
		case <-time.After(60 * time.Second):
			t.Error("beacon did not shut down")
		}
		if t.Failed() {
			t.Logf("beacon output:\n%s", out.String())
		}
	})
	select {
	case a := <-addrs:
		return a, out
	case err := <-done:
		t.Fatalf("beacon stopped: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("beacon did not start:\n%s", out.String())
	}
	return Addrs{}, nil
}

// localArgs runs every stage on loopback with its data under dir. The ml
// stage needs the onnxruntime library (`make test` exports ONNXRUNTIME_LIB);
// without it the process runs every other stage.
func localArgs(dir string) []string {
	args := []string{"-http.addr", "127.0.0.1:0", "-grpc.addr", "127.0.0.1:0", "-admin.addr", "127.0.0.1:0", "-rtmp.addr", "127.0.0.1:0",
		"-data_dir", dir, "-db", "sqlite://" + filepath.Join(dir, "beacon.db"), "-search", "bleve://" + filepath.Join(dir, "index"),
		"-ml.models_dir", "../../models"}
	if lib := os.Getenv("ONNXRUNTIME_LIB"); lib != "" {
		return append(args, "-ml.onnxruntime_lib", lib)
	}
	return append(args, "-target", "ingest,media,index,api,web")
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	addrs := make(chan Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- runWith(ctx, localArgs(t.TempDir()), []string{"BEACON_LOG_FORMAT=json"}, out, func(a Addrs) {
			addrs <- a
		})
	}()
	var a Addrs
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatalf("run returned early: %v\n%s", err, out.String())
	case <-time.After(20 * time.Second):
		t.Fatal("beacon did not start")
	}
	base := "http://" + a.HTTP.String()
	for _, ca := range []struct{ path, want string }{
		{"/healthz", `"ok"`},
		{"/readyz", `"bus":"ok","db":"ok","search":"ok"`},
		{"/v1/version", `"bus":"mem"`},
		{"/metrics", "go_goroutines"},
	} {
		resp, err := http.Get(base + ca.path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, ca.path)
		require.Contains(t, string(b), ca.want, ca.path)
	}
	// pprof is on the admin port only.
	resp, err := http.Get(base + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)
	resp, err = http.Get("http://" + a.Admin.String() + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("beacon did not shut down")
	}
	// The JSON log is machine-readable line by line.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(line, "{") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		}
	}
	require.Contains(t, out.String(), "beacon stopped")
}

// With a kafka:// bus DSN the process uses the real broker: topics are
// created and /readyz reports the bus reachable.
func TestRunWithKafkaBus(t *testing.T) {
	brokers := testenv.Require(t, "KAFKA_BROKERS", "Kafka broker")
	a, _ := startBeacon(t, append(localArgs(t.TempDir()), "-bus", "kafka://"+brokers, "-target", "api,index"), nil)
	for _, ca := range []struct{ path, want string }{
		{"/readyz", `"bus":"ok"`},
		{"/v1/version", `"bus":"kafka"`},
	} {
		resp, err := http.Get("http://" + a.HTTP.String() + ca.path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, ca.path)
		require.Contains(t, string(b), ca.want)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, ca := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"bad target", []string{"-target", "ingest,warp"}, nil, `'target' = "ingest,warp"`},
		{"bad bus", nil, []string{"BEACON_BUS=nats://x"}, `'bus' = "nats://x"`},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined: -nope"},
		{"missing config file", []string{"-config", "/nonexistent/beacon.yaml"}, nil, "/nonexistent/beacon.yaml"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			err := runWith(context.Background(), ca.args, ca.env, io.Discard, nil)
			require.ErrorContains(t, err, ca.want)
		})
	}
}

// The real binary exits 0 on SIGTERM after a graceful shutdown.
func TestBinaryExitsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "beacon")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	cmd := exec.Command(bin, localArgs(t.TempDir())...)
	stdout := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stdout
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "Beacon is running") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no startup banner:\n%s", stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		require.NoError(t, err, "exit status after SIGTERM:\n%s", stdout.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("beacon did not exit after SIGTERM")
	}
	require.Contains(t, stdout.String(), "beacon stopped")
}
