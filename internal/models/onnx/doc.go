// Package onnx holds the Go types of the ONNX model format that laned's
// model converters write, generated from onnx.proto (a subset of ONNX's own
// definition with its field numbers), and a small graph builder.
package onnx

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
