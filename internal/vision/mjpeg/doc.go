// Package mjpeg is the daemon's camera.Decoder: MJPEG (and replayed JPEG
// and PNG) frames are checked by jpegcheck — truncated or malformed
// streams refused before cgo, Huffman tables added where a UVC camera
// left them out — then decoded by libjpeg-turbo's TurboJPEG API straight
// into the frame's reused BGR buffer (about 2.5 times less CPU than the
// same library behind OpenCV's imdecode on this machine; see
// BenchmarkDecode1080p). A decoder warning (corrupt entropy data) refuses
// the frame. PNG goes through OpenCV's imdecode, also into the frame's
// buffer; no Mat outlives a call. YUYV is converted in Go
// (camera.YUYVToBGR).
package mjpeg
