// Package videoreplay replays a video file (an AVI/MKV/MP4 a technician
// or the lab has) as a camera.Source through OpenCV's VideoCapture: frame
// i is stamped i×1000/fps ms after the start on the injected clock, like
// camera.DirSource. fps comes from the config, else from the container.
package videoreplay
