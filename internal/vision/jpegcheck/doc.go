// Package jpegcheck validates a camera's MJPEG frame before anything
// decodes it, and gives frames that carry no Huffman tables the standard
// ones (UVC cameras omit them: the MJPEG payload format assumes the tables
// of JPEG Annex K.3). It is pure Go so the capture code can refuse and
// count a corrupt frame without cgo; the decoders under internal/vision
// (OpenCV) and internal/camera (image/jpeg) both run it first, so OpenCV
// never sees a truncated or malformed stream.
package jpegcheck
