// Package testenv tells tests where the real engines (Kafka, Elasticsearch, PostgreSQL, onnxruntime) are.
//
// `make test` starts every engine and exports its address in an environment
// variable. Outside `make test` a test whose engine is missing skips with a
// message; under CI=true it fails instead, so a green CI run never hides a
// skipped engine test.
package testenv

import (
	"os"
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
