// Package quality judges whether a detected face is good enough to
// recognise: resolution (inter-eye distance in pixels), sharpness
// (variance of the Laplacian over the face), exposure (mean brightness
// and the share of clipped pixels) and head yaw estimated from the
// BlazeFace keypoints. Assess returns the figures and a Usable verdict
// with the reasons it failed; Thresholds documents the defaults and where
// they come from.
package quality
