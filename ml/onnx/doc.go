// Package onnx contains Beacon's wrapper over the onnxruntime C library
// (github.com/yalue/onnxruntime_go): it loads a model once, checks its
// tensors, runs it from many goroutines and batches requests dynamically.
//
// # The environment
//
// onnxruntime_go keeps one onnxruntime environment per process, behind
// process-wide functions (SetSharedLibraryPath, InitializeEnvironment). This
// package therefore has one guarded global, env, that records which library
// initialized that environment: the first Open initializes it, later Opens
// with the same library share it, and an Open with a different library fails.
// The environment lives until the process exits (onnxruntime does not like
// being torn down and brought back while sessions of other owners exist).
//
// # Sessions
//
// A Model owns a pool of sessions (Config.Sessions, each with
// Config.IntraOpThreads threads). Run borrows one session, so any number of
// goroutines may call it; at most Sessions runs proceed at once and the others
// wait for a free session or for their context.
//
// # Batching
//
// A Batcher collects single requests into batches of at most MaxBatch items,
// or whatever has arrived MaxDelay after the first one, whichever comes
// first, and hands each batch to a function that typically stacks the inputs
// into one tensor and calls Model.Run.
package onnx
