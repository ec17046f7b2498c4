// Package camera delivers a booth camera's pictures to the lane as owned,
// timestamped BGR frames (frame.Frame), whatever the source: a V4L2 device
// through github.com/blackjack/webcam (V4L2Source), or a recorded pass
// replayed from a directory of JPEG/PNG files (DirSource; video files are
// replayed by internal/vision/videoreplay).
//
// Every source has one lifecycle: a constructor that validates, Run(ctx)
// that captures until the context ends (returning nil then), Next to take
// the oldest retained frame out of the source's bounded ring (latest wins:
// when the consumer falls behind, the oldest frames are dropped and
// counted), Health for a snapshot of the camera's state and counters that
// collectors read at scrape time, and an idempotent Close.
//
// The package is cgo-free. Decoding is injected (Decoder): the daemon
// passes the OpenCV/libjpeg-turbo decoder from internal/vision/mjpeg; GoDecoder
// (image/jpeg, image/png and a Go YUYV converter) serves tests and tools.
// Devices are reached through the Device interface that *webcam.Webcam
// satisfies, so negotiation, controls, unplug and reopen are tested with
// the scripted fakes of package cameratest.
package camera
