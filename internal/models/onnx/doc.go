// Package onnx holds the Go types of the ONNX model format that laned's
// model converters write, generated from onnx.proto (a subset of ONNX's own
// definition, with ONNX's message names and field numbers, so the output is
// a standard .onnx file), a small graph builder that serialises
// deterministically, and Check, which proves a parsed model is a
// self-consistent graph of the operators laned emits before OpenCV, which
// aborts on a model it cannot build, is given it.
//
// Regenerate onnx.pb.go with protoc (Debian's protobuf-compiler) and
// protoc-gen-go v1.36.12:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./internal/models/onnx
package onnx

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
