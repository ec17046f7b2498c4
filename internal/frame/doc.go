// Package frame defines the unit of video the lane passes from its cameras
// (package camera and its replay sources) to the face analysis (package
// vision/pipeline) and the transaction engine (package lane): one decoded,
// owned, timestamped picture from one camera.
//
// The package is cgo-free on purpose: the camera drivers, the lane engine
// and their tests compile without OpenCV. Decoding MJPEG into a Frame is
// done under internal/vision, behind an interface the camera declares.
package frame
