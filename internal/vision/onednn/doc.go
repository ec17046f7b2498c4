// Package onednn runs a checked ONNX graph — the operator subset laned's
// converters emit (see onnx.Check) — on oneDNN's CPU engine.
//
// OpenCV 4.6's DNN module runs the face recognition ResNet at about
// 18 GMAC/s per core on this project's machines; oneDNN's JIT convolutions
// (AVX2, AVX-512) run the same graph, from the same ONNX file, about 2.5×
// faster. The OpenCV path stays as the reference the tests compare against.
//
// The engine is C++ (engine.cpp) behind a C interface that never lets an
// exception reach Go. Every graph is checked by onnx.Check before any of it
// is handed to oneDNN.
package onednn
