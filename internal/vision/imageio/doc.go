// Package imageio loads untrusted image files (JPEG, PNG, WebP) into 8-bit BGR
// gocv Mats safely, before any byte crosses into OpenCV.
//
// OpenCV's decoder is not used on untrusted data: for a truncated or
// corrupt JPEG, cv::imdecode returns a full-size image with the missing
// part filled grey and only a warning on stderr, and some malformed inputs
// raise C++ exceptions, which abort a Go process. So Decode sniffs the
// format, reads the header in Go (image.DecodeConfig) to refuse absurd
// sizes before allocating, decodes fully in Go (image/jpeg, image/png,
// golang.org/x/image/webp: strict, memory-safe, an error on truncation or corrupt entropy data),
// and converts to a BGR Mat itself. This costs about twice cv::imdecode
// (see BenchmarkDecode*), which is acceptable for files; camera frames
// take their own path.
//
// Conversions: grayscale is replicated to three channels; an alpha
// channel is composited over white (a transparent background becomes the
// white of an ID photo rather than black, which keeps face exposure
// estimates sane).
package imageio
