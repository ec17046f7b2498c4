// Package align cuts the canonical face chip the recogniser expects: a
// 150×150 BGR image with the eyes level at fixed positions, as dlib's
// get_face_chip_details/extract_image_chip make them (and as the chips of
// ../shared/datasets/johns are). A least-squares similarity transform
// (rotation, uniform scale, translation — no shear) maps the detector's
// eye, nose and mouth keypoints onto Template, then warpAffine resamples.
//
// Template was calibrated by running the BlazeFace detector on the johns
// chips themselves and averaging where the keypoints land (see
// TestTemplateCalibration, which reproduces the constants).
package align
