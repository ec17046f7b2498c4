// Package cameratest scripts V4L2 cameras for tests: a Bus of Devices
// that implement camera.Device the way a UVC camera behind
// *webcam.Webcam does (the driver adjusts formats, echoing the request;
// clamps or refuses controls; produces frames on the injected clock;
// returns ENODEV after an unplug), and records misuse a real driver would
// punish: a buffer still held at StopStreaming, a handle never closed.
package cameratest
