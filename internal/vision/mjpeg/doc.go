// Package mjpeg is the daemon's camera.Decoder: MJPEG (and replayed JPEG
// and PNG) frames are checked by jpegcheck — truncated or malformed
// streams refused before cgo, Huffman tables added where a UVC camera
// left them out — then decoded by libjpeg-turbo through OpenCV's
// imdecode, and copied into the frame's reused BGR buffer; the Mat is
// closed on every path. YUYV is converted in Go (camera.YUYVToBGR).
package mjpeg
