package onnx

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// MinVersion is the oldest onnxruntime library that onnxruntime_go v1.27.0
// works with (it is built against the 1.24 C API).
const MinVersion = "1.24.0"

// ErrNoLibrary is returned by Open when the onnxruntime shared library is not
// configured or cannot be found.
var ErrNoLibrary = errors.New("onnx: onnxruntime library not found")

// env guards onnxruntime_go's process-wide environment: see the package doc.
// It is this package's only mutable global and exists because the library's
// initialization is itself global.
var env struct {
	mu      sync.Mutex
	lib     string // library that initialized the environment, "" before
	version string
}

// initEnv initializes the process-wide onnxruntime environment with lib, or
// checks that it already was with the same library.
func initEnv(lib string) (string, error) {
	if lib == "" {
		return "", fmt.Errorf("%w: 'LibraryPath' is empty (set ONNXRUNTIME_LIB or run `make onnxruntime`)", ErrNoLibrary)
	}
	st, err := os.Stat(lib)
	if err != nil {
		return "", fmt.Errorf("%w: %v (run `make onnxruntime`)", ErrNoLibrary, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%w: %s is a directory", ErrNoLibrary, lib)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.lib != "" {
		if env.lib != lib {
			return "", fmt.Errorf("onnx: the process already uses onnxruntime from %s; cannot also load %s", env.lib, lib)
		}
		return env.version, nil
	}
	if ort.IsInitialized() {
		return "", errors.New("onnx: onnxruntime_go was initialized outside this package")
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("onnx: loading onnxruntime from %s: %w", lib, err)
	}
	v := ort.GetVersion()
	if versionLess(v, MinVersion) {
		_ = ort.DestroyEnvironment()
		return "", fmt.Errorf("onnx: onnxruntime %s at %s is older than %s", v, lib, MinVersion)
	}
	env.lib, env.version = lib, v
	return v, nil
}

// versionLess compares dotted numeric versions; non-numeric parts compare as 0.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
