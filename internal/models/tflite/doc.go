// Package tflite reads TensorFlow Lite model files (the "TFL3" FlatBuffer of
// tensorflow/lite/schema/schema.fbs) into plain Go values: tensors with
// their shapes, types, quantisation and constant data, and operators with
// the options of the builtins laned converts (CONV_2D, DEPTHWISE_CONV_2D,
// PRELU, ADD, RESHAPE, FULLY_CONNECTED, pooling, MUL, DEQUANTIZE…).
//
// The FlatBuffer is read with the flatbuffers Go runtime
// (github.com/google/flatbuffers/go) through hand-written accessors for the
// few tables laned needs, field numbers taken from the public schema. That
// runtime trusts its input, so Parse first checks every offset, vtable and
// vector it follows against the file's bounds: a truncated or foreign file
// is an error naming the file and the field, never a panic or an
// allocation the size of a corrupt length.
package tflite
