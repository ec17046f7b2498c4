// Package quality judges whether a detected face is good enough to
// recognise: resolution (inter-eye distance in pixels), sharpness
// (variance of the Laplacian over the face), exposure (mean brightness
// and the share of clipped pixels) and head yaw estimated from the
// BlazeFace keypoints. Assess returns the figures, a typed verdict
// (vision.Verdict: too_small, too_dark, overexposed, blurred, bad_pose),
// the reasons it failed and a 0–1 score to rank shots by; Report.Quality
// gives them in the cgo-free form (vision.Quality) pipeline consumers use.
// Thresholds documents the defaults and where they come from; each zero
// field takes its default.
package quality
