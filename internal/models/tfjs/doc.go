// Package tfjs reads TensorFlow.js layers/graph weight files: the JSON
// weights manifest and the binary shard(s) it names. Weights are returned
// as float32 tensors by name, dequantised where the manifest says they were
// quantised (value = q·scale + min). Every size, offset, dtype and value is
// checked, so a truncated, altered or foreign file is an error naming the
// file and the tensor, never a wrong model.
package tfjs
