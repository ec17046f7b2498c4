// Package check is the commissioning self-test behind `laned check` and the
// console's `selftest`: a table of named checks, each a function that
// returns a detail line or an error naming the item that failed (the model
// file, the camera and its device, the sensor line, the broker address).
//
// Checks read state when they run, node_exporter style: each result carries
// its duration, a check that panics or overruns its timeout fails alone.
// Checks that need the running lane (frames at the configured rate, focus
// and exposure on a live frame, sensor levels, gallery age) take small
// interfaces (CameraProbe, SensorProbe, GalleryProbe) that the local API
// client implements; without a daemon, the device checks fall back to the
// device nodes named in the configuration.
package check
