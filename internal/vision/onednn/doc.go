// Package onednn runs a checked ONNX graph on oneDNN's CPU engine: the
// operator subset laned's nets use (onnx.CheckOps with onnx.DetectorOps),
// from the same files OpenCV reads.
//
// OpenCV 4.6's DNN module runs the face recognition ResNet at about
// 18 GMAC/s per core on this project's machines and BlazeFace at 8 ms a
// pass; oneDNN's JIT kernels (AVX2, AVX-512) run the same graphs 2–2.5×
// faster. The OpenCV path stays as the reference the tests compare
// against (golden vectors, TestEnginesAgree, the load fuzzers).
//
// Load builds one primitive per node, with two fusions: a Relu folds into
// the Conv, Add, Sub, Div or Gemm that is its only input, and a residual
// Add folds into the Conv before it, which then accumulates into the other
// operand's buffer in place when nothing reads that operand later.
// Activations of rank 4 are kept NHWC.
//
// The engine is C++ (engine.cpp) behind a C interface that never lets an
// exception reach Go. Every graph is checked by onnx.CheckOps before any of
// it is handed to oneDNN. All oneDNN calls of the process run on one
// locked OS thread, so OpenMP keeps one thread team (see onThread).
package onednn
