// Package ml is Beacon's machine-learning stage: it runs ONNX models on the
// events other stages publish.
//
// Subpackages:
//   - ml/onnx wraps the onnxruntime C library (cgo, isolated there): one
//     environment per process, a session pool per model, dynamic batching.
//   - ml/safety holds the trust & safety models (chat and frame) with their
//     exact preprocessing.
//
// The models themselves live in models/ (one card each, with its sha256,
// and models/manifest.yaml), and are produced by the notebooks in notebooks/
// (`make models`). The tests in this package check that every model file
// matches the sha256 in its card and in the manifest.
package ml
