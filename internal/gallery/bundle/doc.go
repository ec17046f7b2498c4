// Package bundle reads, verifies and writes signed gallery bundles: the files
// the central office builds and each lane imports (from a technician's USB
// stick or the nightly sync).
//
// A bundle is a small Ed25519-signed manifest followed by a stream of
// length-delimited protobuf records sorted by subject id, so that a
// million-subject gallery is written, verified and imported in one pass with
// bounded memory. The layout is specified byte for byte in
// docs/gallery-bundle.md so the central office can produce bundles without
// this code.
//
// Reading checks the signature over the exact manifest bytes before it
// parses the manifest or touches any record, then checks every record while
// streaming (order, duplicates, template length, NaN/Inf/zero) and, at the
// end, the record count, the byte length and the SHA-256 of the records
// section. A Reader's records are only trustworthy once Next has returned
// io.EOF: a consumer must not activate anything it read before that.
package bundle
