// Package gallerypb holds the protobuf messages of a gallery bundle
// (Manifest, Record), generated from gallery.proto with protoc-gen-go
// v1.36.12:
//
//	protoc --go_out=. --go_opt=paths=source_relative gallery.proto
//
// The byte layout around them is specified in docs/gallery-bundle.md.
package gallerypb
