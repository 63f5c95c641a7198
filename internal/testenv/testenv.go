// Package testenv tells tests where the real engines (Kafka, Elasticsearch, PostgreSQL, onnxruntime) are.
//
// `make test` starts every engine and exports its address in an environment
// variable. Outside `make test` a test whose engine is missing skips with a
// message; under CI=true it fails instead, so a green CI run never hides a
// skipped engine test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the value of the environment variable name, which points a
// test at a real engine. When it is empty the test is skipped, or failed when
// the CI environment variable is "true".
func Require(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s is not set: %s is required under CI (run `make test`)", name, what)
	}
	t.Skipf("testenv: %s is not set; skipping the %s test (run `make test` to start it)", name, what)
	return ""
}

// Command returns the path of the program name, a real client such as
// grpcurl or kcat. When it is not on PATH the test is skipped, or failed
// under CI=true.
func Command(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s is not on PATH: it is required under CI (run `make test`)", name)
	}
	t.Skipf("testenv: %s is not on PATH; skipping (run `make test` to install it)", name)
	return ""
}
