package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/internal/config"
	"github.com/beaconlive/beacon/ml/safety"
	"github.com/beaconlive/beacon/moderation"
)

// defaultOnnxruntimeLib is where `make run` puts the library.
const defaultOnnxruntimeLib = ".cache/onnxruntime/libonnxruntime.so.1.24.1"

// onnxruntimeLib resolves the library path: the config key, then
// $ONNXRUNTIME_LIB, then the Makefile's cache.
func onnxruntimeLib(cfg config.Config, environ []string) string {
	if cfg.ML.OnnxruntimeLib != "" {
		return cfg.ML.OnnxruntimeLib
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "ONNXRUNTIME_LIB="); ok && v != "" {
			return v
		}
	}
	return defaultOnnxruntimeLib
}

// openSafety loads the safety models and builds the ml stage's worker.
func openSafety(cfg config.Config, environ []string, b bus.Bus, evidence *moderation.Evidence, reg prometheus.Registerer, log *slog.Logger) (*safety.Worker, func(), error) {
	lib := onnxruntimeLib(cfg, environ)
	if _, err := os.Stat(lib); err != nil {
		return nil, nil, fmt.Errorf("onnxruntime library %s: %w (run `make run`, or set ml.onnxruntime_lib / ONNXRUNTIME_LIB)", lib, err)
	}
	frames, err := safety.OpenFrame(safety.ModelConfig{LibraryPath: lib, Path: filepath.Join(cfg.ML.ModelsDir, "frame-safety.onnx"), IntraOpThreads: 2})
	if err != nil {
		return nil, nil, err
	}
	chat, err := safety.OpenChat(safety.ModelConfig{LibraryPath: lib, Path: filepath.Join(cfg.ML.ModelsDir, "chat-safety.onnx")})
	if err != nil {
		frames.Close()
		return nil, nil, err
	}
	closeAll := func() { chat.Close(); frames.Close() }
	thresholds, err := config.ParseThresholds(cfg.ML.FrameThresholds)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	w, err := safety.NewWorker(safety.WorkerConfig{
		FrameThresholds: thresholds,
		UnsafeThreshold: float32(cfg.ML.ChatThreshold),
		Logger:          log,
		Registerer:      reg,
	}, b, b, frames, chat, evidence)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	log.Info("safety models loaded", "library", lib, "models_dir", cfg.ML.ModelsDir, "frame_thresholds", cfg.ML.FrameThresholds, "chat_threshold", cfg.ML.ChatThreshold)
	return w, closeAll, nil
}
